import type { z } from 'zod';
import type { AgentId } from '../domain/agents';
import type { LlmProfile, LlmProfileRole, LlmProvider } from '../domain/llm';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** What a caller asks of the gateway. `schema` makes the output parsed and validated JSON. */
export interface LlmRequest<T = unknown> {
  agentId?: AgentId;
  /** Why the call is made (e.g. `exam.grade`): a ledger and metrics label, and the key of its cache TTL. */
  purpose: string;
  messages: ChatMessage[];
  schema?: z.ZodType<T>;
  /** A name for the schema sent to the provider (OpenAI json_schema name, Anthropic tool name). */
  schemaName?: string;
  maxTokens: number;
  temperature: number;
  /** A named profile (`examiner`, `judge`, …) or an explicit `provider:model`; default: the agent's, else primary. */
  profile?: LlmProfileRole | `${LlmProvider}:${string}`;
  /** Overrides the purpose's cache TTL; 0 disables caching for this call. */
  cacheTtlSeconds?: number;
  /**
   * Each provider request's deadline instead of `LLM_TIMEOUT_SECONDS`, for a call whose own limit is longer (an exam
   * answer, bounded by the exam's time limit through the caller's signal).
   */
  timeoutMs?: number;
}

/** Where the call comes from, for the ledger and for fallback-after-N-attempts. */
export interface CallContext {
  workflowId?: string;
  /** The workflow run: with the activity id, attempt and `callSeq` it keys the call's ledger row. */
  runId?: string;
  activityId?: string;
  attempt?: number;
  /** Which gateway call this is within the activity attempt (an activity may ask several times). */
  callSeq?: number;
  /** Aborts the call — the provider request in flight, and any repair or fallback not yet sent. */
  signal?: AbortSignal;
}

export interface LlmUsage {
  inputTokens: number;
  outputTokens: number;
}

export interface LlmResult<T> {
  /** The validated object when a schema was given, else the text. */
  output: T;
  text: string;
  provider: LlmProvider;
  model: string;
  /** Tokens spent by this call (0 on a cache hit), repair attempt included; for a reused answer, what it cost once. */
  usage: LlmUsage;
  /** USD spent; a lower bound when `costUnknown` (the model has no known price and counts 0 here). */
  costUsd: number;
  /** Part of the call went to a model with no known price (see `LLM_PRICES`). */
  costUnknown?: boolean;
  cacheHit: boolean;
  /** The answer an earlier attempt of the same activity settled and paid for: no request sent, no new charge. */
  reused: boolean;
  fallbackUsed: boolean;
  repaired: boolean;
  latencyMs: number;
}

/** One request as a provider adapter sees it. */
export interface ProviderRequest {
  model: string;
  messages: ChatMessage[];
  maxTokens: number;
  temperature: number;
  jsonSchema?: { name: string; schema: Record<string, unknown> };
  signal?: AbortSignal;
  /** This request's deadline (ms), when it differs from the provider's configured one. */
  timeoutMs?: number;
}

export interface ProviderReply extends LlmUsage {
  /** The reply's text (for Anthropic tool use: the tool input, serialised). */
  text: string;
  /** Already-structured output (Anthropic tool input), when the provider gave one. */
  json?: unknown;
}

/** A provider behind its official SDK. Throws the SDK's errors; `classifyProviderError` gives them meaning. */
export interface ProviderClient {
  readonly provider: LlmProvider;
  complete(request: ProviderRequest): Promise<ProviderReply>;
}

export type { LlmProfile };
