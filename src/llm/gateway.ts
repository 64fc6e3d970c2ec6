import { createHash, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import type { LlmOutcome } from '../db/entities';
import { estimateInputTokens, scopesFor, type LlmProvider } from '../domain/llm';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { memoryRateLimitStore, redisRateLimitStore } from '../rate-limit-store';
import { createBudgets, type Budgets, type Reservation } from './budgets';
import { postgresSharedCache, redisSharedCache, ResponseCache } from './cache';
import { LlmError, LLM_ERROR_TYPES, notConfigured, type LlmErrorType } from './errors';
import {
  createLedger,
  ledgerBegin,
  ledgerUpdate,
  type Ledger,
  type LedgerEntry,
  type PriorCall,
  type ReusableAnswer,
} from './ledger';
import { createPricing, type Pricing } from './prices';
import { resolveProfiles, shouldFallBack } from './profiles';
import { classifyProviderError, createProviders } from './providers';
import { createProviderRateLimiter, type ProviderRateLimiter } from './rate-limits';
import { cacheKey, jsonSchemaFor, parseStructured, repairMessages, schemaNameFor } from './structured';
import type {
  CallContext,
  ChatMessage,
  LlmProfile,
  LlmRequest,
  LlmResult,
  ProviderClient,
  ProviderReply,
  ProviderRequest,
} from './types';

export interface LlmGateway {
  /**
   * Answers one request: from the cache, else from the request's profile (then its fallback), within the rate
   * limits and budgets, with one repair attempt for output that does not match the schema. Every call is a ledger
   * row. Throws `LlmError` (see errors.ts for each type's retry meaning).
   */
  complete<T = string>(request: LlmRequest<T>, context?: CallContext): Promise<LlmResult<T>>;
  /** Whether any provider is configured (the API reports which features need a key). */
  readonly configured: boolean;
  /** Waits for the ledger rows of cache hits still being written (see `Ledger.recordLater`); call before shutdown. */
  flush(): Promise<void>;
}

export interface LlmGatewayDeps {
  config: Config;
  orm: MikroORM;
  logger: Logger;
  metrics: Metrics;
  /** Shares the cache and the rate limits between workers; memory and PostgreSQL otherwise. */
  redis?: Redis;
  /** Replaces the SDK-backed providers (benchmarks compare against a bare SDK call with these). */
  providers?: Partial<Record<LlmProvider, ProviderClient>>;
  /** How requests in flight are watched by a concurrent retry (see `IN_FLIGHT`); tests pass short ones. */
  inFlight?: Partial<InFlightTiming>;
}

/**
 * A request in flight stamps its ledger row alive every `stampMs` while it waits for the provider; a retry of the same
 * logical call that finds such a row stamped within `staleMs` waits for it (checking every `pollMs`) instead of
 * sending the call a second time. A worker that died stops stamping, so after `staleMs` its row no longer holds a
 * retry back.
 */
export interface InFlightTiming {
  stampMs: number;
  staleMs: number;
  pollMs: number;
}

export const IN_FLIGHT: InFlightTiming = { stampMs: 2000, staleMs: 10_000, pollMs: 250 };

interface Sent {
  reply: ProviderReply;
  /** Null when the model has no known price. */
  costUsd: number | null;
  /** Settles the budget with the real usage and writes the call's ledger row (with a usable answer), in one statement. */
  finish(outcome: 'ok' | 'bad_output', error?: string, settled?: LedgerEntry['settled']): Promise<void>;
}

/** What `withProfile` needs to know of the whole call: the key a retry finds its answer by, and where it started. */
interface Logical {
  reuseKey: string | undefined;
  fallbackUsed: boolean;
  started: number;
}

const OUTCOME_OF: Record<LlmErrorType, LlmOutcome> = {
  LlmNotConfigured: 'not_configured',
  LlmBadOutput: 'bad_output',
  LlmRequestRejected: 'rejected',
  LlmQuotaExhausted: 'quota_exhausted',
  LlmRateLimited: 'rate_limited',
  LlmProviderUnavailable: 'unavailable',
  LlmTimeout: 'timeout',
  BudgetExceeded: 'budget_exceeded',
  LlmCostUnknown: 'cost_unknown',
};

/** Cache-hit ledger rows written in the background at most; past it a hit waits for them (see `Ledger.recordLater`). */
const MAX_PENDING_CACHE_HIT_ROWS = 64;

/** Models already warned about as having no known price, so each is warned about once per process. */
const warnedUnpriced = new Set<string>();

/** Builds the gateway from config; the one module that talks to LLM providers (ARCHITECTURE §4). */
export function createLlmGateway(deps: LlmGatewayDeps): LlmGateway {
  const { config, orm, logger, metrics, redis } = deps;
  const llm = config.llm;
  const inFlight = { ...IN_FLIGHT, ...deps.inFlight };
  const providers = deps.providers ?? createProviders(llm);
  const log = logger.child({ component: 'llm' });
  const cache = new ResponseCache(
    config.cache.maxSize,
    redis ? redisSharedCache(redis) : postgresSharedCache(orm),
    log,
  );
  const rateLimiter = createProviderRateLimiter(
    redis ? redisRateLimitStore(redis) : memoryRateLimitStore(),
    llm.rateLimits,
  );
  // A reservation outlives the longest call it can cover (a call and its repair), then stops counting.
  const reservationTtlMs = (timeoutMs: number) => 2 * timeoutMs + 60_000;
  const budgets = createBudgets({
    orm,
    defaults: llm.defaultBudget,
    reservationTtlMs: reservationTtlMs(llm.timeoutMs),
    logger: log,
  });
  const ledger = createLedger({ orm, metrics, logger: log });
  const pricing = createPricing(llm.prices);
  const send = sender({
    rateLimiter,
    budgets,
    ledger,
    logger: log,
    pricing,
    unknownCostPolicy: llm.unknownCostPolicy,
    reservationTtlMs: (req) => reservationTtlMs(req.timeoutMs ?? llm.timeoutMs),
    stampMs: inFlight.stampMs,
  });

  async function withProfile<T>(
    profile: LlmProfile,
    req: LlmRequest<T>,
    ctx: CallContext,
    call: Logical,
  ): Promise<Omit<LlmResult<T>, 'fallbackUsed'>> {
    const client = providers[profile.provider];
    if (client === undefined)
      throw notConfigured(
        `profile ${profile.provider}:${profile.model} needs the ${profile.provider} provider configured`,
      );
    const started = performance.now();
    const jsonSchema = req.schema && jsonSchemaFor(req.schema);
    const ttlSeconds = req.cacheTtlSeconds ?? llm.cacheTtlSeconds.byPurpose[req.purpose] ?? llm.cacheTtlSeconds.default;
    // The cache key (a hash of the whole request) only when the cache is used for this purpose.
    const key =
      ttlSeconds > 0
        ? cacheKey({
            ...profile,
            messages: req.messages,
            jsonSchema,
            temperature: req.temperature,
            maxTokens: req.maxTokens,
          })
        : '';
    const entry = ledgerBase(profile, req, ctx);

    if (ttlSeconds > 0) {
      const hit = await cache.get(key);
      if (hit !== undefined) {
        const latencyMs = performance.now() - started;
        // Answered without waiting for PostgreSQL: the zero-cost row is written in the background (flushed before
        // shutdown and before this gateway's next provider request); a crash in that millisecond loses it, never spend.
        ledger.recordLater({ ...entry, inputTokens: 0, outputTokens: 0, costUsd: 0, latencyMs, outcome: 'cache_hit' });
        // Bounded: hits faster than PostgreSQL takes their rows wait for the backlog rather than grow it.
        if (ledger.pending > MAX_PENDING_CACHE_HIT_ROWS) await ledger.flush();
        const usage = { inputTokens: 0, outputTokens: 0 };
        return {
          output: hit.output as T,
          text: hit.text,
          ...profile,
          usage,
          costUsd: 0,
          cacheHit: true,
          reused: false,
          repaired: false,
          latencyMs,
        };
      }
    }

    const request = {
      ...profile,
      maxTokens: req.maxTokens,
      temperature: req.temperature,
      signal: ctx.signal,
      timeoutMs: req.timeoutMs,
    };
    const schemaSpec = jsonSchema && { name: schemaNameFor(req.schemaName, req.purpose), schema: jsonSchema };
    const spent = { inputTokens: 0, outputTokens: 0, costUsd: 0, costUnknown: false };
    let messages = req.messages;
    for (let turn = 0; turn < 2; turn++) {
      const sent = await send({ ...request, messages, jsonSchema: schemaSpec }, client, {
        ...entry,
        callKey: callKeyOf(ctx, profile, turn),
        reuseKey: call.reuseKey,
      });
      spent.inputTokens += sent.reply.inputTokens;
      spent.outputTokens += sent.reply.outputTokens;
      spent.costUsd += sent.costUsd ?? 0;
      spent.costUnknown ||= sent.costUsd === null;
      const parsed =
        req.schema === undefined
          ? ({ ok: true, value: sent.reply.text as T } as const)
          : parseStructured(req.schema, sent.reply);
      if (!parsed.ok) await sent.finish('bad_output', parsed.problem);
      else {
        const { costUsd, costUnknown, ...tokens } = spent;
        const result = {
          output: parsed.value,
          text: sent.reply.text,
          ...profile,
          usage: tokens,
          costUsd: round6(costUsd),
          costUnknown,
          cacheHit: false,
          reused: false,
          repaired: turn > 0,
          latencyMs: performance.now() - started,
        };
        const answer = {
          output: result.output,
          text: result.text,
          ...tokens,
          costUsd: result.costUsd,
          repaired: result.repaired,
          fallbackUsed: call.fallbackUsed,
          latencyMs: Math.round(performance.now() - call.started),
        };
        await sent.finish(
          'ok',
          undefined,
          call.reuseKey === undefined ? undefined : { reuseKey: call.reuseKey, answer },
        );
        if (ttlSeconds > 0) {
          await cache.set(key, {
            ...profile,
            text: sent.reply.text,
            output: parsed.value,
            expiresAt: Date.now() + ttlSeconds * 1000,
          });
        }
        return result;
      }
      if (turn > 0 || jsonSchema === undefined) {
        throw new LlmError(
          LLM_ERROR_TYPES.badOutput,
          `${profile.provider}:${profile.model} gave unusable output twice for "${req.purpose}": ${parsed.problem}`,
        );
      }
      messages = repairMessages(req.messages, sent.reply.text, parsed.problem, jsonSchema);
    }
    throw new Error('unreachable');
  }

  /**
   * The answer an earlier attempt of this activity got for this very call and paid for (its ledger row settled `ok`),
   * when the attempt then failed — its own write lost to a database fault, say: returned as it was, no request sent,
   * no new ledger row. When another attempt's request for it is still in flight on a live worker — Temporal gave up
   * on that attempt (its heartbeats could not reach the server) while the worker kept waiting for the provider —
   * this one waits for that answer rather than paying for it twice, and sends only if that request fails or its
   * worker stops stamping it alive. The first attempt has nothing to find; an answer no longer valid for the schema
   * is not reused.
   */
  async function reusedAnswer<T>(
    req: LlmRequest<T>,
    ctx: CallContext,
    reuseKey: string | undefined,
  ): Promise<LlmResult<T> | undefined> {
    if (reuseKey === undefined || (ctx.attempt ?? 1) <= 1) return undefined;
    let found: ReusableAnswer | undefined;
    for (let waited = false; ; waited = true) {
      let prior: PriorCall | undefined;
      try {
        prior = await ledger.reusable(reuseKey, inFlight.staleMs);
      } catch (err) {
        throw new LlmError(
          LLM_ERROR_TYPES.unavailable,
          `the call was not sent: the ledger could not be read for an answer already paid for (${(err as Error).message})`,
          { cause: err },
        );
      }
      if (prior === undefined) {
        if (waited)
          log.info('the request in flight for this call ended without an answer to reuse; sending it', {
            purpose: req.purpose,
            workflowId: ctx.workflowId,
            activityId: ctx.activityId,
            attempt: ctx.attempt,
          });
        return undefined;
      }
      if ('settled' in prior) {
        found = prior.settled;
        break;
      }
      if (!waited)
        log.info(
          "another attempt is still waiting for this call's answer; waiting for it instead of sending it again",
          { purpose: req.purpose, workflowId: ctx.workflowId, activityId: ctx.activityId, attempt: ctx.attempt },
        );
      await sleep(inFlight.pollMs, undefined, { signal: ctx.signal }).catch(() => ctx.signal?.throwIfAborted());
      ctx.signal?.throwIfAborted();
    }
    const parsed =
      req.schema === undefined
        ? ({ success: true, data: found.text as T } as const)
        : req.schema.safeParse(found.output);
    if (!parsed.success) return undefined;
    const { provider, model, inputTokens, outputTokens, costUsd, repaired, fallbackUsed, latencyMs, text } = found;
    metrics.llmReusedAnswers.inc({ provider, model, purpose: req.purpose });
    log.info('reused an answer an earlier attempt settled; no request sent', {
      purpose: req.purpose,
      workflowId: ctx.workflowId,
      activityId: ctx.activityId,
      attempt: ctx.attempt,
    });
    return {
      output: parsed.data,
      text,
      provider,
      model,
      usage: { inputTokens, outputTokens },
      costUsd,
      cacheHit: false,
      reused: true,
      fallbackUsed,
      repaired,
      latencyMs,
    };
  }

  return {
    configured: Object.keys(providers).length > 0,
    flush: () => ledger.flush(),
    async complete<T = string>(req: LlmRequest<T>, ctx: CallContext = {}): Promise<LlmResult<T>> {
      const started = performance.now();
      const reuseKey = reuseKeyOf(ctx, req);
      const reused = await reusedAnswer(req, ctx, reuseKey);
      if (reused !== undefined) return reused;
      const candidates = resolveProfiles(llm.profiles, req);
      for (const [index, profile] of candidates.entries()) {
        try {
          const result = await withProfile(profile, req, ctx, { reuseKey, fallbackUsed: index > 0, started });
          return { ...result, fallbackUsed: index > 0 };
        } catch (err) {
          const last = index === candidates.length - 1;
          if (last || !shouldFallBack(err, ctx.attempt ?? 1, llm.fallbackAfterAttempts)) throw err;
          log.warn('LLM profile failed; using the fallback', {
            purpose: req.purpose,
            failed: `${profile.provider}:${profile.model}`,
            error: (err as Error).message,
          });
        }
      }
      throw notConfigured();
    },
  };
}

/**
 * One provider request within the limits: rate limit, budget reservation, the ledger row written `unknown` at the
 * reservation's estimate, the SDK call, then settling the real usage and completing the row (or releasing the hold on
 * failure). A worker that dies while the request is out leaves the row `unknown`: the spend is counted at its
 * estimate, never missing. Failures are ledgered here; answers by the caller, who knows whether the output was usable.
 * A request whose signal has aborted (a cancelled activity, an exam answer out of time) is not sent — so neither a
 * repair turn nor the fallback goes out after it — and one aborted in flight is ledgered `aborted`.
 */
function sender(deps: {
  rateLimiter: ProviderRateLimiter;
  budgets: Budgets;
  ledger: Ledger;
  logger: Logger;
  pricing: Pricing;
  unknownCostPolicy: Config['llm']['unknownCostPolicy'];
  reservationTtlMs: (req: ProviderRequest) => number;
  stampMs: number;
}) {
  const { rateLimiter, budgets, ledger, logger, pricing } = deps;
  /** The cost of a call, or null (warned about once per model per process) when the model has no known price. */
  const costOf = (provider: LlmProvider, model: string, inputTokens: number, outputTokens: number) => {
    const cost = pricing.costOf(provider, model, inputTokens, outputTokens);
    if (cost === null && !warnedUnpriced.has(`${provider}:${model}`)) {
      warnedUnpriced.add(`${provider}:${model}`);
      logger.warn(
        'no price is known for this model: its calls are ledgered with cost null (cost_unknown) and count against token budgets only; set LLM_PRICES to price it',
        {
          provider,
          model,
        },
      );
    }
    return cost;
  };
  return async function send(
    request: Parameters<ProviderClient['complete']>[0],
    client: ProviderClient,
    entry: Omit<LedgerEntry, 'inputTokens' | 'outputTokens' | 'costUsd' | 'latencyMs' | 'outcome'> & {
      callKey: string;
    },
  ): Promise<Sent> {
    request.signal?.throwIfAborted();
    // Cache-hit rows still being written go first, so the ledger keeps this process's calls in order.
    if (ledger.pending > 0) await ledger.flush();
    const started = performance.now();
    const schemaChars = request.jsonSchema ? schemaLength(request.jsonSchema.schema) : 0;
    const inputEstimate = estimateInputTokens(request.messages, schemaChars);
    let begun = false;
    const failed = async (err: unknown) => {
      const outcome = request.signal?.aborted
        ? 'aborted'
        : err instanceof LlmError
          ? OUTCOME_OF[err.type]
          : 'unavailable';
      const error = err instanceof Error ? err.message : String(err);
      const row = {
        ...entry,
        inputTokens: 0,
        outputTokens: 0,
        costUsd: 0,
        latencyMs: performance.now() - started,
        outcome,
        error,
      };
      await (begun ? ledger.end(row) : ledger.record({ ...row, callKey: undefined }));
      return err;
    };

    let reservation: Reservation;
    let costUnknown = false;
    try {
      await rateLimiter.take(client.provider, inputEstimate + request.maxTokens);
      const scopes = scopesFor(entry.agentId, client.provider);
      const usd = costOf(client.provider, request.model, inputEstimate, request.maxTokens);
      costUnknown = usd === null;
      // The ledger row is recorded before the request is sent — if this process dies while it is out, the row says
      // so — in the reservation's own statement (one round trip, one transaction): written only if the hold is
      // granted and the call will go (not an unpriced call that the `refuse` policy stops below).
      const unknownRow = {
        ...entry,
        inputTokens: inputEstimate,
        outputTokens: request.maxTokens,
        costUsd: usd,
        latencyMs: 0,
        outcome: 'unknown' as const,
      };
      reservation = await budgets.reserve({
        scopes,
        tokens: inputEstimate + request.maxTokens,
        usd: usd ?? 0,
        ttlMs: deps.reservationTtlMs(request),
        alsoBegin: {
          insert: (when) => ledgerBegin(unknownRow, when),
          unlessUsdLimit: costUnknown && deps.unknownCostPolicy === 'refuse',
        },
      });
      begun = reservation.begun === true;
    } catch (err) {
      // Nothing was written if the statement failed: the hold and the row commit together or not at all.
      throw await failed(err);
    }
    const usdBudget = Object.entries(reservation.limits).find(([, limit]) => limit?.monthlyUsd != null)?.[0];
    if (costUnknown && usdBudget !== undefined && deps.unknownCostPolicy === 'refuse') {
      await budgets
        .release(reservation)
        .catch((e: Error) => logger.warn('could not release a budget reservation', { error: e.message }));
      const refusal = new LlmError(
        LLM_ERROR_TYPES.costUnknown,
        `${client.provider}:${request.model} has no known price and ${usdBudget} has a USD budget (LLM_UNKNOWN_COST_POLICY=refuse): not sent; price it in LLM_PRICES or set the policy to warn`,
        { scope: usdBudget },
      );
      throw await failed(refusal);
    }

    if (!begun) {
      // Unreachable by construction (granted and not refused means written); never send a request without its row.
      await budgets
        .release(reservation)
        .catch((e: Error) => logger.warn('could not release a budget reservation', { error: e.message }));
      throw new LlmError(LLM_ERROR_TYPES.unavailable, 'the call was not sent: its ledger row was not written');
    }

    let reply: ProviderReply & { usageEstimated: boolean };
    // Stamped alive while it waits, so a concurrent retry of the same call waits for this answer (see `reusedAnswer`).
    const stamp = setInterval(() => void ledger.alive(entry.callKey), deps.stampMs);
    try {
      reply = withUsage(await client.complete(request), request.messages, inputEstimate);
    } catch (err) {
      await budgets
        .release(reservation)
        .catch((e: Error) => logger.warn('could not release a budget reservation', { error: e.message }));
      throw await failed(classifyProviderError(err, client.provider));
    } finally {
      clearInterval(stamp);
    }

    const costUsd = costOf(client.provider, request.model, reply.inputTokens, reply.outputTokens);
    const latencyMs = performance.now() - started;
    const finish = async (outcome: 'ok' | 'bad_output', error?: string, settled?: LedgerEntry['settled']) => {
      const row = {
        ...entry,
        inputTokens: reply.inputTokens,
        outputTokens: reply.outputTokens,
        costUsd,
        usageEstimated: reply.usageEstimated,
        latencyMs,
        outcome,
        error,
        settled,
      };
      ledger.observe(row);
      try {
        await budgets.settle(
          reservation,
          { tokens: reply.inputTokens + reply.outputTokens, usd: costUsd ?? 0 },
          ledgerUpdate(row),
        );
      } catch (err) {
        // The provider has answered (and charged): failing now would only make Temporal pay for it again.
        logger.error(
          'could not settle a budget reservation or write its ledger row; the reservation expires on its own',
          {
            error: (err as Error).message,
          },
        );
      }
    };
    return { reply, costUsd, finish };
  };
}

/** Servers that report no usage (some OpenAI-compatible ones) are charged an estimate rather than nothing. */
function withUsage(
  reply: ProviderReply,
  messages: ChatMessage[],
  inputEstimate: number,
): ProviderReply & { usageEstimated: boolean } {
  if (reply.inputTokens > 0 || reply.outputTokens > 0 || messages.length === 0)
    return { ...reply, usageEstimated: false };
  return { ...reply, inputTokens: inputEstimate, outputTokens: Math.ceil(reply.text.length / 3), usageEstimated: true };
}

function ledgerBase(profile: LlmProfile, req: LlmRequest<unknown>, ctx: CallContext) {
  return {
    agentId: req.agentId,
    purpose: req.purpose,
    provider: profile.provider,
    model: profile.model,
    workflowId: ctx.workflowId,
    activityId: ctx.activityId,
    attempt: ctx.attempt,
  };
}

/**
 * The key of one provider request's ledger row: inside an activity, the workflow run, activity, attempt, the call's
 * place within the attempt, the profile and the repair turn, so writing the row again (a retried write) never
 * counts the request twice while every request, of every attempt, has its own row; elsewhere a fresh id.
 */
function callKeyOf(ctx: CallContext, profile: LlmProfile, turn: number): string {
  if (ctx.workflowId === undefined || ctx.activityId === undefined || ctx.attempt === undefined) return randomUUID();
  const key = [
    ctx.workflowId,
    ctx.runId ?? '-',
    ctx.activityId,
    ctx.attempt,
    ctx.callSeq ?? 0,
    `${profile.provider}:${profile.model}`,
    turn,
  ].join('/');
  return key.length <= 400 ? key : createHash('sha256').update(key).digest('hex');
}

/**
 * The key of one logical call inside an activity, for its answer to be reused: the workflow run, the activity, the
 * call's place within the attempt (calls made in a loop come in the same order on a retry) and the request itself —
 * not the attempt, the profile or the repair turn, so any attempt finds what any other settled. A retry that asks
 * something else at the same place (its input changed meanwhile) gets another key and is sent. None outside an activity.
 */
function reuseKeyOf(ctx: CallContext, req: LlmRequest<unknown>): string | undefined {
  if (ctx.workflowId === undefined || ctx.activityId === undefined) return undefined;
  const jsonSchema = req.schema && jsonSchemaFor(req.schema);
  const material = [
    ctx.workflowId,
    ctx.runId ?? '-',
    ctx.activityId,
    ctx.callSeq ?? 0,
    req.purpose,
    req.profile ?? null,
    req.agentId ?? null,
    req.messages,
    jsonSchema ?? null,
    req.temperature,
    req.maxTokens,
  ];
  return createHash('sha256').update(JSON.stringify(material)).digest('hex');
}

const schemaLengths = new WeakMap<object, number>();

/** The serialized length of a JSON schema (for the input estimate), computed once per schema object (jsonSchemaFor caches them). */
function schemaLength(schema: Record<string, unknown>): number {
  let n = schemaLengths.get(schema);
  if (n === undefined) {
    n = JSON.stringify(schema).length;
    schemaLengths.set(schema, n);
  }
  return n;
}

function round6(n: number): number {
  return Math.round(n * 1_000_000) / 1_000_000;
}
