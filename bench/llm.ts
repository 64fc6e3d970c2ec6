import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import OpenAI from 'openai';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { loadConfig } from '../src/config';
import { createOrm, ensureDatabase, runMigrations } from '../src/db/orm';
import { preparedQuery } from '../src/db/prepared';
import { scopesFor } from '../src/domain/llm';
import { createLlmGateway } from '../src/llm';
import { cacheKey } from '../src/llm/structured';
import { createLogger } from '../src/logger';
import { createMetrics } from '../src/metrics';
import { startFakeOpenAI } from '../test/fakes/llm-servers';

/**
 * `npm run bench:llm`: what the LLM gateway adds to a call. Against a fake OpenAI server on loopback, one call at a
 * time: a bare OpenAI SDK call, the same call through the gateway with caching off (rate limit, budget reservation
 * in PostgreSQL, settle, ledger row), and a cache hit through the gateway. Needs PostgreSQL (DATABASE_URL; the
 * database, `lvlup_bench` by default, is created and migrated). BENCH_ITERATIONS measured calls per scenario
 * (default 2000) after BENCH_WARMUP warm-up calls (default 300). Removes the rows it wrote when done.
 */

const MODEL = 'gpt-4o-mini';
const PURPOSE = 'bench.llm';
const MAX_TOKENS = 16;
/** The goals of issue 17: what the gateway may add to a call (cache off), and what a cache hit may cost. */
export const LLM_GOALS = { overheadP50Ms: 1, overheadP99Ms: 3, cacheHitP50Ms: 0.5 };
const TOUCHED_TABLES = ['llm_budget_usage', 'llm_budget_reservations', 'token_usage_events', 'llm_cache_entries'];

export interface Stats {
  n: number;
  mean: number;
  p50: number;
  p99: number;
  max: number;
}

export interface LlmBenchResult {
  direct: Stats;
  gateway: Stats;
  cacheHit: Stats;
  iterations: number;
  warmup: number;
  /** Database statements per call: through the gateway (cache off), and a cache hit (its row written in the background). */
  gatewayTrips: number;
  /** Mean ms per gateway call (cache off) spent waiting for its statements' answers. */
  gatewayDbMs: number;
  hitTrips: number;
  /** One PostgreSQL round trip as the gateway makes them (a prepared `select 1` on the ORM's pool): its floor per statement. */
  dbRoundTrip: Stats;
}

async function main(): Promise<void> {
  const iterations = positiveInt('BENCH_ITERATIONS', 2000);
  const warmup = positiveInt('BENCH_WARMUP', 300, true);
  const result = await runLlmBench({ databaseUrl: process.env.DATABASE_URL, iterations, warmup });
  report(result);
}

/** The three scenarios, measured one after another; removes the rows it wrote (also on failure). */
export async function runLlmBench(opts: {
  databaseUrl: string | undefined;
  iterations: number;
  warmup: number;
}): Promise<LlmBenchResult> {
  const measure = (call: (i: number) => Promise<void>) => measureCalls(call, opts.warmup, opts.iterations);
  const fake = await startFakeOpenAI();
  fake.respond(() => ({ text: 'ok', usage: { input: 20, output: 5 } }));
  const config = loadConfig({
    ...process.env,
    OPENAI_API_KEY: 'sk-bench',
    OPENAI_BASE_URL: fake.url,
    LLM_PROFILE_PRIMARY: `openai:${MODEL}`,
    LLM_PROFILE_FALLBACK: '',
    ANTHROPIC_API_KEY: '',
    LLM_OPENAI_RPM: '0',
    LLM_OPENAI_TPM: '0',
    // Large enough never to run out, but set, so the reservation checks a real limit.
    LLM_BUDGET_MONTHLY_TOKENS: '1000000000',
    LOG_LEVEL: 'error',
    DATABASE_URL: opts.databaseUrl ?? 'postgres://postgres@127.0.0.1:5432/lvlup_bench',
  });
  await ensureDatabase(config.database.url);
  const orm = await createOrm(config.database);
  const runId = randomUUID().slice(0, 8);
  const cachedMessages = [{ role: 'user' as const, content: `hello cached ${runId}` }];
  let usageRowsBefore: Set<string> | undefined;
  try {
    await runMigrations(orm);
    // Dead rows left by earlier runs (or a database without autovacuum) slow the reservation sum; start clean.
    await orm.em.fork().execute(`vacuum (analyze) ${TOUCHED_TABLES.join(', ')}`, [], 'run');
    usageRowsBefore = await budgetUsageRows(orm.em.fork() as EntityManager);
    const llm = createLlmGateway({ config, orm, logger: createLogger(config.log), metrics: createMetrics() });
    const sdk = new OpenAI({ apiKey: 'x', baseURL: fake.url, maxRetries: 0 });
    const roundTrips = countStatements(orm);

    const direct = await measure(async (i) => {
      const res = await sdk.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: `hello ${i}` }],
        max_tokens: MAX_TOKENS,
        temperature: 0,
      });
      if (res.choices[0]?.message.content !== 'ok') throw new Error('direct call: unexpected answer');
    });

    roundTrips.reset();
    const gateway = await measure(async (i) => {
      const res = await llm.complete({
        purpose: PURPOSE,
        messages: [{ role: 'user', content: `hello ${i}` }],
        maxTokens: MAX_TOKENS,
        temperature: 0,
        cacheTtlSeconds: 0,
      });
      if (res.cacheHit || res.text !== 'ok') throw new Error('gateway call: expected an uncached "ok"');
    });
    const gatewayTrips = roundTrips.perCall(opts.warmup + opts.iterations);
    const gatewayDbMs = roundTrips.dbMsPerCall(opts.warmup + opts.iterations);

    const cachedRequest = { purpose: PURPOSE, messages: cachedMessages, maxTokens: MAX_TOKENS, temperature: 0 };
    const primed = await llm.complete(cachedRequest);
    if (primed.cacheHit) throw new Error('cache hit scenario: the first call should have gone to the server');
    const sentBefore = fake.requests.length;
    roundTrips.reset();
    const cacheHit = await measure(async () => {
      const res = await llm.complete(cachedRequest);
      if (!res.cacheHit) throw new Error('cache hit scenario: expected a cache hit');
    });
    await llm.flush();
    const hitTrips = roundTrips.perCall(opts.warmup + opts.iterations);
    if (fake.requests.length !== sentBefore) throw new Error('cache hit scenario: a request reached the server');

    const dbRoundTrip = await measure(async () => {
      await preparedQuery(orm, 'select 1 as one', []);
    });

    return {
      direct,
      gateway,
      cacheHit,
      iterations: opts.iterations,
      warmup: opts.warmup,
      gatewayTrips,
      gatewayDbMs,
      hitTrips,
      dbRoundTrip,
    };
  } finally {
    if (usageRowsBefore !== undefined) {
      await cleanUp(orm.em.fork() as EntityManager, usageRowsBefore, cachedMessages).catch((err: Error) =>
        process.stderr.write(`bench:llm: cleanup failed: ${err.message}\n`),
      );
    }
    await orm.close(true);
    await fake.close();
  }
}

/** WARMUP unrecorded calls, then ITERATIONS timed ones, strictly one after another. */
async function measureCalls(call: (i: number) => Promise<void>, warmup: number, iterations: number): Promise<Stats> {
  for (let i = 0; i < warmup; i++) await call(i);
  const samples: number[] = [];
  for (let i = warmup; i < warmup + iterations; i++) {
    const started = performance.now();
    await call(i);
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.ceil(q * samples.length) - 1)] ?? NaN;
  return {
    n: samples.length,
    mean: samples.reduce((s, x) => s + x, 0) / samples.length,
    p50: at(0.5),
    p99: at(0.99),
    max: at(1),
  };
}

function report({
  direct,
  gateway,
  cacheHit,
  warmup,
  iterations,
  gatewayTrips,
  gatewayDbMs,
  hitTrips,
  dbRoundTrip,
}: LlmBenchResult): void {
  const ms = (v: number) => v.toFixed(3).padStart(8);
  const rows = [
    ['direct OpenAI SDK call', direct],
    ['gateway, cache off', gateway],
    ['gateway, cache hit', cacheHit],
  ] as const;
  const out = process.stdout;
  out.write(`\nfake OpenAI on loopback, sequential calls: ${warmup} warm-up + ${iterations} measured per scenario\n\n`);
  out.write('scenario                      mean ms   p50 ms   p99 ms   max ms\n');
  for (const [name, s] of rows) out.write(`${name.padEnd(26)} ${ms(s.mean)} ${ms(s.p50)} ${ms(s.p99)} ${ms(s.max)}\n`);
  const overhead = { p50: gateway.p50 - direct.p50, p99: gateway.p99 - direct.p99, mean: gateway.mean - direct.mean };
  out.write(
    `\ndatabase statements per call: gateway ${gatewayTrips.toFixed(2)}, cache hit ${hitTrips.toFixed(2)} (written in the background); the gateway's statements take ${gatewayDbMs.toFixed(3)} ms per call (mean, sent → answered); one bare round trip (prepared select 1 on the pool) p50 ${dbRoundTrip.p50.toFixed(3)} ms\n`,
  );
  out.write(
    `\ngateway overhead (gateway − direct): mean ${overhead.mean.toFixed(3)} ms, p50 ${overhead.p50.toFixed(3)} ms, p99 ${overhead.p99.toFixed(3)} ms\n\n`,
  );
  const check = (label: string, value: number, goal: number) =>
    out.write(`${value <= goal ? 'PASS' : 'MISS'}  ${label} ≤ ${goal} ms (measured ${value.toFixed(3)} ms)\n`);
  check('gateway overhead p50', overhead.p50, LLM_GOALS.overheadP50Ms);
  check('gateway overhead p99', overhead.p99, LLM_GOALS.overheadP99Ms);
  check('cache hit p50', cacheHit.p50, LLM_GOALS.cacheHitP50Ms);
}

/**
 * Statements sent, counted on knex's `query` event: MikroORM's `execute` and the prepared reads and writes
 * (src/db/prepared.ts) both announce each statement there. (Wrapping `execute` missed the prepared ones: 0 per call.)
 */
function countStatements(orm: MikroORM) {
  let started = 0;
  let dbMs = 0;
  const sentAt = new Map<string, number>();
  const knex = orm.em.getConnection().getKnex() as unknown as NodeJS.EventEmitter;
  knex.on('query', (q: { __knexQueryUid: string }) => {
    started++;
    sentAt.set(q.__knexQueryUid, performance.now());
  });
  knex.on('query-response', (_res: unknown, q: { __knexQueryUid: string }) => {
    const at = sentAt.get(q.__knexQueryUid);
    sentAt.delete(q.__knexQueryUid);
    if (at !== undefined) dbMs += performance.now() - at;
  });
  return {
    reset: () => {
      started = 0;
      dbMs = 0;
    },
    perCall: (calls: number) => started / calls,
    /** Mean ms per call from sending a statement to its answer, summed over the call's statements. */
    dbMsPerCall: (calls: number) => dbMs / calls,
  };
}

const SCOPES = scopesFor(undefined, 'openai');

async function budgetUsageRows(em: EntityManager): Promise<Set<string>> {
  const rows = (await em.execute(
    `select scope, month from llm_budget_usage where scope in (${SCOPES.map(() => '?').join(', ')})`,
    SCOPES,
  )) as Array<{
    scope: string;
    month: string;
  }>;
  return new Set(rows.map((r) => `${r.scope}|${r.month}`));
}

/**
 * Takes back what the bench wrote: its ledger rows, the usage they added to the budget rows (deleting the rows
 * it created), and its cache entry. Safe on a shared database: it touches only rows of the bench's purpose.
 */
async function cleanUp(
  em: EntityManager,
  usageRowsBefore: Set<string>,
  cachedMessages: Array<{ role: 'user'; content: string }>,
): Promise<void> {
  await em.transactional(async (tx) => {
    const spent = (await tx.execute(
      `select month, sum(input_tokens + output_tokens) as tokens, sum(cost_usd) as usd
         from token_usage_events where purpose = ? and outcome = 'ok' group by month`,
      [PURPOSE],
    )) as Array<{ month: string; tokens: string; usd: string }>;
    for (const { month, tokens, usd } of spent) {
      await tx.execute(
        `update llm_budget_usage set used_tokens = greatest(0, used_tokens - ?), used_usd = greatest(0, used_usd - ?::numeric)
          where month = ? and scope in (${SCOPES.map(() => '?').join(', ')})`,
        [tokens, usd, month, ...SCOPES],
        'run',
      );
      for (const scope of SCOPES) {
        if (usageRowsBefore.has(`${scope}|${month}`)) continue;
        await tx.execute(
          'delete from llm_budget_usage where scope = ? and month = ? and used_tokens = 0 and used_usd = 0',
          [scope, month],
          'run',
        );
      }
    }
    await tx.execute('delete from token_usage_events where purpose = ?', [PURPOSE], 'run');
    const key = cacheKey({
      provider: 'openai',
      model: MODEL,
      messages: cachedMessages,
      jsonSchema: undefined,
      temperature: 0,
      maxTokens: MAX_TOKENS,
    });
    await tx.execute('delete from llm_cache_entries where key = ?', [key], 'run');
  });
}

export function positiveInt(name: string, fallback: number, zeroOk = false): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < (zeroOk ? 0 : 1))
    throw new Error(`${name} must be a ${zeroOk ? 'non-negative' : 'positive'} integer (got "${raw}")`);
  return value;
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench:llm failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}
