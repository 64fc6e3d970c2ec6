import type { MikroORM } from '@mikro-orm/postgresql';
import { preparedQuery } from '../db/prepared';
import { budgetMonth, type AgentId, type LlmProvider } from '../domain';
import type { LlmOutcome, SettledAnswer } from '../db/entities';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';

export interface LedgerEntry {
  agentId: AgentId | undefined;
  purpose: string;
  provider: LlmProvider;
  model: string;
  workflowId: string | undefined;
  activityId: string | undefined;
  attempt: number | undefined;
  inputTokens: number;
  outputTokens: number;
  /** Null when the model has no known price: the row is then flagged `cost_unknown`. */
  costUsd: number | null;
  latencyMs: number;
  outcome: LlmOutcome;
  error?: string;
  /** The provider reported no usage; the tokens are the gateway's estimate. */
  usageEstimated?: boolean;
  /** Keys a provider request's row (see `callKeyOf` in gateway.ts): written `unknown` before it is sent, then completed. */
  callKey?: string;
  /** On an `ok` row: the answer, under the key of the logical call it answered, for a retry to reuse (see `reusable`). */
  settled?: { reuseKey: string; answer: SettledAnswer };
  /** On a row `begin` writes: the logical call it sends, so a concurrent retry of it finds it in flight (see `reusable`). */
  reuseKey?: string;
}

/** A settled answer as a retry finds it: what it said, and which profile said it. */
export interface ReusableAnswer extends SettledAnswer {
  provider: LlmProvider;
  model: string;
}

/**
 * What a retry finds of its logical call: the answer an attempt settled, or a request of another attempt still in
 * flight on a live worker (its row `unknown`, its liveness stamp fresh), which the retry waits for rather than paying
 * for the same answer twice.
 */
export type PriorCall = { settled: ReusableAnswer } | { inFlight: true };

export interface Ledger {
  /** Writes the row and the metrics. Never throws: the tokens are already spent, so losing a row must not fail the call. */
  record(entry: LedgerEntry): Promise<void>;
  /**
   * `record` without waiting for the database: the metrics now, the row written in the background (a cache hit
   * answers without a round trip). The write is tracked until it ends: `flush` waits for it. Never throws.
   */
  recordLater(entry: LedgerEntry): void;
  /** Waits for the rows `recordLater` is still writing (before shutdown, and before a write that must follow them). */
  flush(): Promise<void>;
  /** How many rows `recordLater` is still writing (a caller awaits `flush` only when there is something to wait for). */
  readonly pending: number;
  /** The metrics alone, for a row written by another statement (see `ledgerInsert`). */
  observe(entry: LedgerEntry): void;
  /**
   * Writes the row of a provider request about to be sent, as `unknown` with its estimate, keyed on `callKey` (once:
   * written again, it is left as is), stamped alive now. Throws: a request whose row could not be written must not be sent.
   */
  begin(entry: LedgerEntry & { callKey: string }): Promise<void>;
  /** Stamps a request's `unknown` row alive (its process is still waiting for the answer). Never throws. */
  alive(callKey: string): Promise<void>;
  /** Completes a row `begin` wrote, with how the request ended, and the metrics. Never throws (like `record`). */
  end(entry: LedgerEntry & { callKey: string }): Promise<void>;
  /**
   * The answer a logical call (its `reuseKey`) already settled `ok` with, if any: the retry of an activity whose
   * call was answered and paid for before the activity failed; else a request of it still in flight, stamped alive
   * within `staleMs` (the database's clock). Throws when the ledger cannot be read.
   */
  reusable(reuseKey: string, staleMs: number): Promise<PriorCall | undefined>;
}

const INSERT = `insert into token_usage_events (at, month, agent_id, purpose, provider, model, workflow_id, activity_id, attempt,
  input_tokens, output_tokens, cost_usd, cost_unknown, usage_estimated, latency_ms, outcome, cache_hit, error, call_key)
  values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

// A request about to be sent: its row also carries the logical call's key and the liveness stamp, in the database's
// clock; written only `when` (an SQL condition: a budget reservation's statement writes it only if the hold is granted).
const BEGIN = (
  when: string,
) => `insert into token_usage_events (at, month, agent_id, purpose, provider, model, workflow_id, activity_id, attempt,
  input_tokens, output_tokens, cost_usd, cost_unknown, usage_estimated, latency_ms, outcome, cache_hit, error, call_key, reuse_key, seen_at)
  select ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now() where ${when} on conflict (call_key) do nothing`;

/** The row `begin` writes, as SQL guarded by the condition `when`, so a caller can write it in the same statement as other work. */
export function ledgerBegin(e: LedgerEntry & { callKey: string }, when = 'true'): { sql: string; params: unknown[] } {
  return { sql: BEGIN(when), params: [...ledgerInsert(e).params, e.reuseKey ?? null] };
}

const UPDATE = `update token_usage_events set input_tokens = ?, output_tokens = ?, cost_usd = ?, cost_unknown = ?, usage_estimated = ?, latency_ms = ?, outcome = ?, error = ?,
  reuse_key = ?, answer = ?::jsonb where call_key = ?`;

/** The completion of a row `begin` wrote, as SQL, so a caller can run it in the same statement as other work. */
export function ledgerUpdate(e: LedgerEntry & { callKey: string }): { sql: string; params: unknown[] } {
  const settled = e.outcome === 'ok' ? e.settled : undefined;
  return {
    sql: UPDATE,
    params: [
      e.inputTokens,
      e.outputTokens,
      e.costUsd,
      e.costUsd === null,
      e.usageEstimated ?? false,
      Math.round(e.latencyMs),
      e.outcome,
      e.error?.slice(0, 2000) ?? null,
      settled?.reuseKey ?? null,
      settled ? JSON.stringify(settled.answer) : null,
      e.callKey,
    ],
  };
}

/** The ledger row as SQL, so a caller can write it in the same statement as other work (one round trip). */
export function ledgerInsert(e: LedgerEntry, at = new Date()): { sql: string; params: unknown[] } {
  return {
    sql: INSERT,
    params: [
      at,
      budgetMonth(at),
      e.agentId ?? null,
      e.purpose,
      e.provider,
      e.model,
      e.workflowId ?? null,
      e.activityId ?? null,
      e.attempt ?? null,
      e.inputTokens,
      e.outputTokens,
      e.costUsd,
      e.costUsd === null,
      e.usageEstimated ?? false,
      Math.round(e.latencyMs),
      e.outcome,
      e.outcome === 'cache_hit',
      e.error?.slice(0, 2000) ?? null,
      e.callKey ?? null,
    ],
  };
}

/** The `token_usage_events` ledger plus the `llm_*` Prometheus metrics, written together so they always agree. */
export function createLedger({ orm, metrics, logger }: { orm: MikroORM; metrics: Metrics; logger: Logger }): Ledger {
  const observe = (e: LedgerEntry) => {
    const labels = { provider: e.provider, model: e.model, purpose: e.purpose };
    metrics.llmRequests.inc({ ...labels, outcome: e.outcome });
    metrics.llmRequestDuration.observe({ ...labels, outcome: e.outcome }, e.latencyMs / 1000);
    if (e.inputTokens > 0) metrics.llmTokens.inc({ ...labels, direction: 'input' }, e.inputTokens);
    if (e.outputTokens > 0) metrics.llmTokens.inc({ ...labels, direction: 'output' }, e.outputTokens);
    if (e.costUsd !== null && e.costUsd > 0) metrics.llmCostUsd.inc(labels, e.costUsd);
    if (e.outcome === 'cache_hit') metrics.llmCacheHits.inc(labels);
  };
  const writing = new Set<Promise<void>>();
  const write = async (e: LedgerEntry, at?: Date) => {
    const { sql, params } = ledgerInsert(e, at);
    try {
      await preparedQuery(orm, sql, params);
    } catch (err) {
      logger.error('could not write a token usage event', { error: (err as Error).message, purpose: e.purpose });
    }
  };
  return {
    observe,
    recordLater(e) {
      observe(e);
      // Stamped now, written when the pool gets to it (`write` never rejects).
      const done: Promise<void> = write(e, new Date()).finally(() => writing.delete(done));
      writing.add(done);
    },
    async flush() {
      while (writing.size > 0) await Promise.all(writing);
    },
    get pending() {
      return writing.size;
    },
    async begin(e) {
      const { sql, params } = ledgerBegin(e);
      await preparedQuery(orm, sql, params);
    },
    async alive(callKey) {
      try {
        await orm.em
          .getConnection()
          .execute(
            `update token_usage_events set seen_at = now() where call_key = ? and outcome = 'unknown'`,
            [callKey],
            'run',
          );
      } catch (err) {
        // A missed stamp only lets a retry send sooner; the call itself goes on.
        logger.warn('could not stamp an LLM request in flight', { error: (err as Error).message });
      }
    },
    async end(e) {
      observe(e);
      const { sql, params } = ledgerUpdate(e);
      try {
        await preparedQuery(orm, sql, params);
      } catch (err) {
        // The row stays `unknown` at its estimate: counted, never missing.
        logger.error('could not complete a token usage event', { error: (err as Error).message, purpose: e.purpose });
      }
    },
    async reusable(reuseKey, staleMs) {
      const [row] = (await orm.em.getConnection().execute(
        `select provider, model, outcome, answer from token_usage_events
          where reuse_key = ? and (outcome = 'ok' and answer is not null or outcome = 'unknown' and seen_at > now() - make_interval(secs => ?))
          order by outcome = 'ok' desc, id limit 1`,
        [reuseKey, staleMs / 1000],
      )) as Array<{ provider: LlmProvider; model: string; outcome: LlmOutcome; answer: SettledAnswer | null }>;
      if (row === undefined) return undefined;
      if (row.outcome !== 'ok' || row.answer === null) return { inFlight: true };
      return { settled: { ...row.answer, provider: row.provider, model: row.model } };
    },
    async record(e) {
      observe(e);
      await write(e);
    },
  };
}
