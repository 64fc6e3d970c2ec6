import type { EntityManager } from '@mikro-orm/postgresql';
import { Redis } from 'ioredis';
import { Notification, TokenUsageEvent } from '../../src/db/entities';
import { estimateInputTokens, scopesFor } from '../../src/domain/llm';
import { createBudgets } from '../../src/llm/budgets';
import { createLogger } from '../../src/logger';
import { LlmError, type LlmRequest } from '../../src/llm';
import { testConfig } from '../helpers/config';
import { testGateway, useLlmTestBed } from '../helpers/llm';

const bed = useLlmTestBed();
beforeEach(async () => {
  bed.fakes.reset();
  await em().execute(
    'truncate token_usage_events, llm_cache_entries, llm_budget_usage, llm_budget_reservations, llm_budgets, notifications',
  );
});

const em = () => bed.orm.em.fork() as EntityManager;
const MAX_TOKENS = 100;
const request = (n: number): LlmRequest<string> => ({
  agentId: 'guardian',
  purpose: 'budget.test',
  messages: [{ role: 'user', content: `call number ${String(n).padStart(3, '0')}` }],
  maxTokens: MAX_TOKENS,
  temperature: 0,
  cacheTtlSeconds: 0,
});
/** What one call reserves, and (as scripted below) exactly what it then spends. */
const PER_CALL = estimateInputTokens(request(0).messages) + MAX_TOKENS;

function spendTheReservation(delayMs = 0) {
  bed.fakes.openai.respond(() => ({
    text: 'ok',
    usage: { input: PER_CALL - MAX_TOKENS, output: MAX_TOKENS },
    delayMs,
  }));
}

async function setBudget(scope: string, monthlyTokens: number | null, monthlyUsd: number | null = null): Promise<void> {
  await em().execute(
    'insert into llm_budgets (scope, monthly_tokens, monthly_usd, updated_at) values (?, ?, ?, now())',
    [scope, monthlyTokens, monthlyUsd],
  );
}

const gateway = (env: Record<string, string> = {}) =>
  testGateway(
    testConfig(bed.db.url, bed.fakes.env({ LLM_PROFILE_FALLBACK: '', ANTHROPIC_API_KEY: '', ...env })),
    bed.orm,
  ).llm;

describe('budgets', () => {
  it('lets 20 concurrent calls against a budget for 10 spend at most the budget; the rest fail BudgetExceeded', async () => {
    await setBudget('agent:guardian', 10 * PER_CALL);
    spendTheReservation(150); // slow answers, so all 20 are in flight together
    const llm = gateway();
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => llm.complete(request(i))));

    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as LlmError] : []));
    expect(ok).toHaveLength(10);
    expect(refused).toHaveLength(10);
    for (const err of refused)
      expect(err).toMatchObject({ type: 'BudgetExceeded', retryable: false, opts: { scope: 'agent:guardian' } });
    expect(bed.fakes.openai.requests).toHaveLength(10);

    const [usage] = (await em().execute(
      "select used_tokens from llm_budget_usage where scope = 'agent:guardian'",
    )) as Array<{ used_tokens: string }>;
    expect(Number(usage?.used_tokens)).toBe(10 * PER_CALL);
    const spent = (await bed.orm.em.fork().find(TokenUsageEvent, { outcome: 'ok' })).reduce(
      (s, e) => s + e.inputTokens + e.outputTokens,
      0,
    );
    expect(spent).toBeLessThanOrEqual(10 * PER_CALL);
    expect(await bed.orm.em.fork().count(TokenUsageEvent, { outcome: 'budget_exceeded' })).toBe(10);
    // One row per call: a refused reservation writes no `unknown` row in its statement (the row goes with the hold).
    expect(await bed.orm.em.fork().count(TokenUsageEvent, {})).toBe(20);
    const [reservations] = (await em().execute('select count(*)::int as n from llm_budget_reservations')) as Array<{
      n: number;
    }>;
    expect(reservations?.n).toBe(0);
  });

  it('warns once at 80 % and once at 95 % per month, and notifies exhaustion once', async () => {
    await setBudget('agent:guardian', Math.floor(10.5 * PER_CALL));
    spendTheReservation();
    const llm = gateway();
    for (let i = 0; i < 10; i++) await llm.complete(request(i)); // 95.2 % used
    await expect(llm.complete(request(10))).rejects.toMatchObject({ type: 'BudgetExceeded' });
    await expect(llm.complete(request(11))).rejects.toMatchObject({ type: 'BudgetExceeded' });
    // A second gateway (another worker) must not repeat them either.
    await expect(gateway().complete(request(12))).rejects.toMatchObject({ type: 'BudgetExceeded' });

    const notes = await bed.orm.em.fork().find(Notification, {}, { orderBy: { createdAt: 'asc' } });
    expect(notes.map((n) => [n.kind, n.data.threshold ?? null])).toEqual([
      ['budget_warning', 80],
      ['budget_warning', 95],
      ['budget_exhausted', null],
    ]);
    expect(notes[2]).toMatchObject({ priority: 'critical', data: { scope: 'agent:guardian' } });
  });

  it('applies LLM_BUDGET_MONTHLY_TOKENS to the global scope until an admin sets a budget', async () => {
    spendTheReservation();
    const llm = gateway({ LLM_BUDGET_MONTHLY_TOKENS: String(2 * PER_CALL) });
    await llm.complete(request(1));
    await llm.complete(request(2));
    await expect(llm.complete(request(3))).rejects.toMatchObject({ type: 'BudgetExceeded', opts: { scope: 'global' } });
    await setBudget('global', null);
    await expect(llm.complete(request(4))).resolves.toMatchObject({ output: 'ok' });
  });

  it('enforces a USD budget on the estimated cost', async () => {
    spendTheReservation();
    // gpt-4o-mini: one call costs about PER_CALL tokens at $0.15–0.60 per million: far below a cent.
    await setBudget('provider:openai', null, 0.000001);
    await expect(gateway().complete(request(1))).rejects.toMatchObject({
      type: 'BudgetExceeded',
      message: expect.stringMatching(/USD budget of provider:openai/),
    });
  });

  it('gives the reservation back when the provider call fails', async () => {
    await setBudget('agent:guardian', PER_CALL);
    bed.fakes.openai.enqueue({ status: 500 });
    await expect(gateway().complete(request(1))).rejects.toMatchObject({ type: 'LlmProviderUnavailable' });
    spendTheReservation();
    await expect(gateway().complete(request(2))).resolves.toMatchObject({ output: 'ok' });
  });
});

describe('with Redis', () => {
  let redis: Redis;
  const prefixOf = Math.random().toString(36).slice(2);
  beforeAll(() => {
    redis = new Redis('redis://127.0.0.1:6379', { keyPrefix: `test:${prefixOf}:`, maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    const keys = await redis.keys(`test:${prefixOf}:*`);
    if (keys.length > 0) await redis.del(...keys.map((k) => k.slice(`test:${prefixOf}:`.length)));
    redis.disconnect();
  });

  it('shares the cache between gateways through Redis', async () => {
    bed.fakes.openai.respond(() => ({ text: 'cached in redis' }));
    const config = testConfig(
      bed.db.url,
      bed.fakes.env({ LLM_PROFILE_FALLBACK: '', ANTHROPIC_API_KEY: '', REDIS_URL: 'redis://127.0.0.1:6379' }),
    );
    const ask = { ...request(1), cacheTtlSeconds: 60 };
    await testGateway(config, bed.orm, redis).llm.complete(ask);
    const second = await testGateway(config, bed.orm, redis).llm.complete(ask);
    expect(second).toMatchObject({ cacheHit: true, output: 'cached in redis' });
    expect(bed.fakes.openai.requests).toHaveLength(1);
    const [rows] = (await em().execute('select count(*)::int as n from llm_cache_entries')) as Array<{ n: number }>;
    expect(rows?.n).toBe(0);
  });

  it('shares the per-provider rate limit between gateways through Redis', async () => {
    bed.fakes.openai.respond(() => ({ text: 'ok' }));
    const config = testConfig(
      bed.db.url,
      bed.fakes.env({ LLM_PROFILE_FALLBACK: '', ANTHROPIC_API_KEY: '', LLM_OPENAI_RPM: '1' }),
    );
    await testGateway(config, bed.orm, redis).llm.complete(request(1));
    await expect(testGateway(config, bed.orm, redis).llm.complete(request(2))).rejects.toMatchObject({
      type: 'LlmRateLimited',
      retryable: true,
    });
  });
});

describe('reservations left by a crashed worker', () => {
  it('hold the budget until they expire, then the sweep gives them back', async () => {
    await setBudget('agent:guardian', 1000);
    const budgets = createBudgets({
      orm: bed.orm,
      defaults: { monthlyTokens: null, monthlyUsd: null },
      reservationTtlMs: 300,
      logger: createLogger({ level: 'error', format: 'json' }),
    });
    const scopes = scopesFor('guardian', 'openai');
    await budgets.reserve({ scopes, tokens: 800, usd: 0 }); // never settled: the worker "crashed"
    await expect(budgets.reserve({ scopes, tokens: 300, usd: 0 })).rejects.toMatchObject({ type: 'BudgetExceeded' });
    expect(await budgets.sweep()).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await budgets.sweep()).toBe(1);
    const held = await budgets.reserve({ scopes, tokens: 300, usd: 0 });
    await budgets.settle(held, { tokens: 250, usd: 0 });
    const [usage] = (await em().execute(
      "select used_tokens, reserved_tokens from llm_budget_usage where scope = 'agent:guardian'",
    )) as Array<{ used_tokens: string; reserved_tokens: string }>;
    expect(usage).toEqual({ used_tokens: '250', reserved_tokens: '0' });
  });
});
