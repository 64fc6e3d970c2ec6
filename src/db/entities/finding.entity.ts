import { randomUUID } from 'node:crypto';
import { EntitySchema } from '@mikro-orm/core';
import { SEVERITIES } from '../../domain/findings';

export const FINDING_KINDS = ['security', 'experiment', 'performance'] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];
export const FINDING_SEVERITIES = SEVERITIES;
export type FindingSeverity = (typeof FINDING_SEVERITIES)[number];
export const FINDING_STATUSES = ['open', 'dismissed', 'resolved'] as const;
export type FindingStatus = (typeof FINDING_STATUSES)[number];

/** The model's reading of a finding (Guardian's triage); `severity` is its assessment (null on triages before it was asked). */
export interface FindingTriage {
  verdict: 'true_positive' | 'false_positive' | 'needs_review';
  severity: FindingSeverity | null;
  explanation: string;
  suggestedFix: string | null;
  provider: string;
  model: string;
  at: string;
}

/**
 * Something an agent found in the target repository, deduplicated by fingerprint across scans: seen again → updated,
 * gone from a scan by a tool that ran → resolved, back after resolution → reopened; dismissed stays dismissed.
 */
export class Finding {
  id: string = randomUUID();
  repositoryId: string;
  agentId: string;
  kind: FindingKind;
  tool: string;
  rule: string;
  severity: FindingSeverity;
  title: string;
  message: string;
  file: string | null;
  line: number | null;
  fingerprint: string;
  status: FindingStatus = 'open';
  triage: FindingTriage | null = null;
  data: Record<string, unknown> = {};
  firstRunId: string;
  lastRunId: string;
  /** The run that last opened it (found it first, or reopened it): the work "new in this run" is keyed on it. */
  openedRunId: string;
  firstSeenAt: Date = new Date();
  lastSeenAt: Date = new Date();
  /** Written by the database (a stored generated column): 0 critical, 1 high, 2 medium, 3 anything else — the list's order. */
  declare severityRank?: number;
  resolvedAt: Date | null = null;
  dismissedAt: Date | null = null;
  dismissedBy: string | null = null;
  dismissReason: string | null = null;

  constructor(
    init: Pick<
      Finding,
      | 'repositoryId'
      | 'agentId'
      | 'kind'
      | 'tool'
      | 'rule'
      | 'severity'
      | 'title'
      | 'message'
      | 'file'
      | 'line'
      | 'fingerprint'
      | 'firstRunId'
    > & { data?: Record<string, unknown> },
  ) {
    this.repositoryId = init.repositoryId;
    this.agentId = init.agentId;
    this.kind = init.kind;
    this.tool = init.tool;
    this.rule = init.rule;
    this.severity = init.severity;
    this.title = init.title;
    this.message = init.message;
    this.file = init.file;
    this.line = init.line;
    this.fingerprint = init.fingerprint;
    this.firstRunId = init.firstRunId;
    this.lastRunId = init.firstRunId;
    this.openedRunId = init.firstRunId;
    this.data = init.data ?? {};
  }
}

const ts = { type: 'Date', columnType: 'timestamptz' } as const;

export const FindingSchema = new EntitySchema<Finding>({
  class: Finding,
  tableName: 'findings',
  uniques: [{ properties: ['repositoryId', 'fingerprint'] }],
  indexes: [
    { properties: ['status', 'severity'] },
    { properties: ['agentId', 'kind', 'status'] },
    // GET /guardian/findings: most severe first, then most recently seen (issue 17: read in index order, no sort).
    {
      name: 'findings_list_order_index',
      expression: `create index "findings_list_order_index" on "findings" ("kind", "severity_rank", "last_seen_at" desc, "id")`,
    },
  ],
  properties: {
    id: { type: 'uuid', primary: true },
    repositoryId: { type: 'uuid' },
    agentId: { type: 'string', length: 32 },
    kind: { type: 'string', length: 16 },
    tool: { type: 'string', length: 40 },
    rule: { type: 'string', length: 200 },
    severity: { type: 'string', length: 16 },
    title: { type: 'string', length: 300 },
    message: { type: 'text' },
    file: { type: 'text', nullable: true },
    line: { type: 'integer', nullable: true },
    fingerprint: { type: 'string', length: 64 },
    status: { type: 'string', length: 16 },
    triage: { type: 'json', nullable: true },
    data: { type: 'json' },
    firstRunId: { type: 'uuid' },
    lastRunId: { type: 'uuid' },
    openedRunId: { type: 'uuid' },
    firstSeenAt: ts,
    lastSeenAt: ts,
    severityRank: {
      type: 'smallint',
      generated: `(case severity when 'critical' then 0 when 'high' then 1 when 'medium' then 2 else 3 end) stored`,
      nullable: true,
    },
    resolvedAt: { ...ts, nullable: true },
    dismissedAt: { ...ts, nullable: true },
    dismissedBy: { type: 'string', length: 100, nullable: true },
    dismissReason: { type: 'text', nullable: true },
  },
});
