import { EntitySchema } from '@mikro-orm/core';

export const AGENT_RUN_KINDS = ['guardian_scan', 'sandbox_experiment', 'conquest_analysis', 'learning_cycle'] as const;
export type AgentRunKind = (typeof AGENT_RUN_KINDS)[number];
export const AGENT_RUN_STATUSES = ['running', 'completed', 'failed', 'skipped', 'cancelled'] as const;
export type AgentRunStatus = (typeof AGENT_RUN_STATUSES)[number];

/** One run of an agent's own work (a scan, an experiment, an analysis, a learning cycle), keyed on its workflow id. */
export class AgentRun {
  id: string;
  workflowId: string;
  agentId: string;
  kind: AgentRunKind;
  trigger: string;
  requestedBy: string | null;
  status: AgentRunStatus = 'running';
  repositoryId: string | null = null;
  commit: string | null = null;
  steps: Array<{ step: string; at: string; detail?: string }> = [];
  summary: Record<string, unknown> = {};
  error: string | null = null;
  /** How the sandbox isolated this run's target code (`bwrap` or `process`); null when it ran none. */
  isolation: string | null = null;
  startedAt: Date = new Date();
  completedAt: Date | null = null;

  constructor(init: Pick<AgentRun, 'id' | 'workflowId' | 'agentId' | 'kind' | 'trigger' | 'requestedBy'>) {
    this.id = init.id;
    this.workflowId = init.workflowId;
    this.agentId = init.agentId;
    this.kind = init.kind;
    this.trigger = init.trigger;
    this.requestedBy = init.requestedBy;
  }
}

export const AgentRunSchema = new EntitySchema<AgentRun>({
  class: AgentRun,
  tableName: 'agent_runs',
  indexes: [{ properties: ['kind', 'startedAt'] }, { properties: ['agentId', 'startedAt'] }],
  properties: {
    id: { type: 'uuid', primary: true },
    workflowId: { type: 'string', length: 255, unique: true },
    agentId: { type: 'string', length: 32 },
    kind: { type: 'string', length: 32 },
    trigger: { type: 'string', length: 16 },
    requestedBy: { type: 'string', length: 100, nullable: true },
    status: { type: 'string', length: 16 },
    repositoryId: { type: 'uuid', nullable: true },
    commit: { type: 'string', length: 64, nullable: true },
    steps: { type: 'json' },
    summary: { type: 'json' },
    error: { type: 'text', nullable: true },
    isolation: { type: 'string', length: 16, nullable: true },
    startedAt: { type: 'Date', columnType: 'timestamptz' },
    completedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
  },
});
