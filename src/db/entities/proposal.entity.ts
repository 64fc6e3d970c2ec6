import { randomUUID } from 'node:crypto';
import { EntitySchema } from '@mikro-orm/core';

/** A proposal's states (ARCHITECTURE §3.6); the last ten are terminal. */
export const PROPOSAL_STATES = [
  'drafting',
  'validating',
  'testing',
  'reviewing',
  'awaiting_review',
  'applying',
  'applied',
  'rejected',
  'expired',
  'invalid',
  'failed_tests',
  'blocked',
  'ineligible',
  'apply_failed',
  'failed',
  'cancelled',
] as const;
export type ProposalState = (typeof PROPOSAL_STATES)[number];
export const TERMINAL_PROPOSAL_STATES: readonly ProposalState[] = [
  'applied',
  'rejected',
  'expired',
  'invalid',
  'failed_tests',
  'blocked',
  'ineligible',
  'apply_failed',
  'failed',
  'cancelled',
];
/** States that count as an agent's open proposals for eligibility. */
export const OPEN_PROPOSAL_STATES: readonly ProposalState[] = [
  'drafting',
  'validating',
  'testing',
  'reviewing',
  'awaiting_review',
  'applying',
];

export interface ProposalReview {
  decision: 'approve' | 'reject';
  reviewer: string;
  comment: string | null;
  at: string;
}

/**
 * An agent's code change for one finding or goal, from draft to commit (ARCHITECTURE §3.6), keyed on its workflow id.
 * `diffHash` (sha256 of the normalized diff) makes duplicates detectable; every transition is a `proposal_events` row.
 */
export class Proposal {
  id: string = randomUUID();
  workflowId: string;
  agentId: string;
  repositoryId: string | null = null;
  findingId: string | null;
  goal: string | null;
  trigger: string;
  requestedBy: string | null;
  status: ProposalState = 'drafting';
  title: string | null = null;
  rationale: string | null = null;
  risk: string | null = null;
  diff: string | null = null;
  diffHash: string | null = null;
  changedFiles: string[] = [];
  changedLines = 0;
  drafts = 0;
  baseCommit: string | null = null;
  branch: string | null = null;
  commit: string | null = null;
  eligibility: Record<string, unknown> | null = null;
  validation: Record<string, unknown> | null = null;
  tests: Record<string, unknown> | null = null;
  guardianReview: Record<string, unknown> | null = null;
  review: ProposalReview | null = null;
  error: string | null = null;
  /** when the review's lesson (xp, knowledge note) was taken: once per proposal */
  learnedAt: Date | null = null;
  createdAt: Date = new Date();
  updatedAt: Date = new Date();
  completedAt: Date | null = null;

  constructor(
    init: Pick<Proposal, 'workflowId' | 'agentId' | 'findingId' | 'goal' | 'trigger' | 'requestedBy'> & { id?: string },
  ) {
    if (init.id !== undefined) this.id = init.id;
    this.workflowId = init.workflowId;
    this.agentId = init.agentId;
    this.findingId = init.findingId;
    this.goal = init.goal;
    this.trigger = init.trigger;
    this.requestedBy = init.requestedBy;
  }
}

/** One transition of a proposal (its timeline), keyed on (proposal, seq) so a retried transition lands once. */
export class ProposalEvent {
  id?: string;
  proposalId: string;
  seq: number;
  state: ProposalState;
  detail: string | null;
  data: Record<string, unknown>;
  at: Date = new Date();

  constructor(init: Pick<ProposalEvent, 'proposalId' | 'seq' | 'state' | 'detail' | 'data'>) {
    this.proposalId = init.proposalId;
    this.seq = init.seq;
    this.state = init.state;
    this.detail = init.detail;
    this.data = init.data;
  }
}

const ts = { type: 'Date', columnType: 'timestamptz' } as const;

export const ProposalSchema = new EntitySchema<Proposal>({
  class: Proposal,
  tableName: 'proposals',
  indexes: [
    { properties: ['status', 'createdAt'] },
    { properties: ['agentId', 'status'] },
    { properties: ['diffHash'] },
    { properties: ['findingId'] },
    // GET /proposals: newest first (issue 17: read in index order, no sort).
    {
      name: 'proposals_list_order_index',
      expression: `create index "proposals_list_order_index" on "proposals" ("created_at" desc, "id")`,
    },
  ],
  properties: {
    id: { type: 'uuid', primary: true },
    workflowId: { type: 'string', length: 255, unique: true },
    agentId: { type: 'string', length: 32 },
    repositoryId: { type: 'uuid', nullable: true },
    findingId: { type: 'uuid', nullable: true },
    goal: { type: 'text', nullable: true },
    trigger: { type: 'string', length: 16 },
    requestedBy: { type: 'string', length: 100, nullable: true },
    status: { type: 'string', length: 20 },
    title: { type: 'string', length: 300, nullable: true },
    rationale: { type: 'text', nullable: true },
    risk: { type: 'text', nullable: true },
    diff: { type: 'text', nullable: true },
    diffHash: { type: 'string', length: 64, nullable: true },
    changedFiles: { type: 'json' },
    changedLines: { type: 'integer' },
    drafts: { type: 'integer' },
    baseCommit: { type: 'string', length: 64, nullable: true },
    branch: { type: 'string', length: 100, nullable: true },
    commit: { type: 'string', length: 64, nullable: true },
    eligibility: { type: 'json', nullable: true },
    validation: { type: 'json', nullable: true },
    tests: { type: 'json', nullable: true },
    guardianReview: { type: 'json', nullable: true },
    review: { type: 'json', nullable: true },
    error: { type: 'text', nullable: true },
    learnedAt: { ...ts, nullable: true },
    createdAt: ts,
    updatedAt: { ...ts, onUpdate: () => new Date() },
    completedAt: { ...ts, nullable: true },
  },
});

export const ProposalEventSchema = new EntitySchema<ProposalEvent>({
  class: ProposalEvent,
  tableName: 'proposal_events',
  uniques: [{ properties: ['proposalId', 'seq'] }],
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    proposalId: { type: 'uuid' },
    seq: { type: 'integer' },
    state: { type: 'string', length: 20 },
    detail: { type: 'text', nullable: true },
    data: { type: 'json' },
    at: ts,
  },
});
