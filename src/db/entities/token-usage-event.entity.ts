import { DecimalType, EntitySchema } from '@mikro-orm/core';

/** How a gateway call ended; `ok` and `cache_hit` are answers, `unknown` is a call whose end was never recorded, the rest are refusals and failures. */
export const LLM_OUTCOMES = [
  'ok',
  'cache_hit',
  'bad_output',
  'rate_limited',
  'budget_exceeded',
  'timeout',
  'unavailable',
  'rejected',
  'quota_exhausted',
  'not_configured',
  // Refused before sending: the model has no known price and a USD budget applies (LLM_UNKNOWN_COST_POLICY=refuse).
  'cost_unknown',
  // The caller gave up while the request was out (its activity was cancelled, or an exam answer ran out of time): no
  // answer, but the provider may still charge for what it generated.
  'aborted',
  // Recorded before the request is sent: in flight, or the worker died before the answer was written down. Counted as
  // spend at the reservation's estimate (input estimate + maxTokens) in every total.
  'unknown',
] as const;
export type LlmOutcome = (typeof LLM_OUTCOMES)[number];

/** What an `ok` row's request answered, kept so a retried activity reuses it instead of paying for it again. */
export interface SettledAnswer {
  /** The validated output (the text when no schema was asked for). */
  output: unknown;
  text: string;
  /** The whole call's usage and cost (a repair turn included), already counted on this and its sibling rows. */
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  repaired: boolean;
  fallbackUsed: boolean;
  /** How long the call took when it was answered (an exam answer keeps its real answering time). */
  latencyMs: number;
}

/** The ledger (ARCHITECTURE §4): one row per gateway call, cached or not, with its tokens, cost and outcome. */
export class TokenUsageEvent {
  id?: string;
  at: Date = new Date();
  month: string;
  agentId: string | null;
  purpose: string;
  provider: string;
  model: string;
  workflowId: string | null;
  activityId: string | null;
  attempt: number | null;
  inputTokens: number;
  outputTokens: number;
  /** Null when the model has no known price (`costUnknown`): a lower bound in every total, never a false 0. */
  costUsd: number | null;
  latencyMs: number;
  outcome: LlmOutcome;
  cacheHit: boolean;
  /** The model has no known price (neither in the built-in table nor in `LLM_PRICES`). */
  costUnknown = false;
  /** The provider reported no usage: the tokens are the gateway's estimate. */
  usageEstimated = false;
  error: string | null;
  /** One provider request (workflow run, activity, attempt, call within the attempt, profile, turn); null for rows written after the fact. */
  callKey: string | null;
  /** The logical call an `ok` row answered (workflow run, activity, call within the attempt, request — not the attempt). */
  reuseKey: string | null = null;
  answer: SettledAnswer | null = null;
  /** While an `unknown` row's request is in flight, stamped every few seconds by the process waiting for it. */
  seenAt: Date | null = null;

  constructor(
    init: Omit<
      TokenUsageEvent,
      'id' | 'at' | 'callKey' | 'reuseKey' | 'answer' | 'seenAt' | 'costUnknown' | 'usageEstimated'
    > & { at?: Date; callKey?: string | null; costUnknown?: boolean; usageEstimated?: boolean },
  ) {
    this.at = init.at ?? new Date();
    this.month = init.month;
    this.agentId = init.agentId;
    this.purpose = init.purpose;
    this.provider = init.provider;
    this.model = init.model;
    this.workflowId = init.workflowId;
    this.activityId = init.activityId;
    this.attempt = init.attempt;
    this.inputTokens = init.inputTokens;
    this.outputTokens = init.outputTokens;
    this.costUsd = init.costUsd;
    this.latencyMs = init.latencyMs;
    this.outcome = init.outcome;
    this.cacheHit = init.cacheHit;
    this.error = init.error;
    this.callKey = init.callKey ?? null;
    this.costUnknown = init.costUnknown ?? false;
    this.usageEstimated = init.usageEstimated ?? false;
  }
}

export const TokenUsageEventSchema = new EntitySchema<TokenUsageEvent>({
  class: TokenUsageEvent,
  tableName: 'token_usage_events',
  indexes: [
    { properties: ['at'] },
    { properties: ['month', 'agentId'] },
    { properties: ['month', 'provider'] },
    { properties: ['workflowId'] },
    { properties: ['reuseKey'] },
  ],
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    at: { type: 'Date', columnType: 'timestamptz' },
    month: { type: 'string', length: 7 },
    agentId: { type: 'string', length: 32, nullable: true },
    purpose: { type: 'string', length: 100 },
    provider: { type: 'string', length: 20 },
    model: { type: 'string', length: 200 },
    workflowId: { type: 'string', length: 255, nullable: true },
    activityId: { type: 'string', length: 255, nullable: true },
    attempt: { type: 'integer', nullable: true },
    inputTokens: { type: 'integer' },
    outputTokens: { type: 'integer' },
    costUsd: { type: new DecimalType('number'), precision: 14, scale: 6, nullable: true },
    costUnknown: { type: 'boolean', default: false },
    usageEstimated: { type: 'boolean', default: false },
    latencyMs: { type: 'integer' },
    outcome: { type: 'string', length: 20 },
    cacheHit: { type: 'boolean' },
    error: { type: 'text', nullable: true },
    callKey: { type: 'string', length: 400, nullable: true, unique: true },
    reuseKey: { type: 'string', length: 64, nullable: true },
    answer: { type: 'json', nullable: true },
    seenAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
  },
});
