import { AuditLog } from '../../src/db/entities';
import { budgetMonth } from '../../src/domain/llm';
import { startTestApi, type TestApi } from '../helpers/api';
import { testConfig } from '../helpers/config';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { startFakeLlms, testGateway, type FakeLlms } from '../helpers/llm';

let db: TestDatabase;
let api: TestApi;
let fakes: FakeLlms;
let viewer: string;
let operator: string;
let admin: string;

beforeAll(async () => {
  db = await createTestDatabase();
  fakes = await startFakeLlms();
  const config = testConfig(db.url, fakes.env({ RATE_LIMIT_MAX: '1000', LLM_BUDGET_MONTHLY_TOKENS: '100000' }));
  api = await startTestApi(config);
  [viewer, operator, admin] = await Promise.all([
    api.key('viewer'),
    api.key('operator'),
    api.key('admin', 'root-admin'),
  ]);
  // Real ledger rows, made by the gateway against the fake providers.
  fakes.openai.respond(() => ({ text: 'ok', usage: { input: 1000, output: 500 } }));
  fakes.anthropic.respond(() => ({ text: 'ok', usage: { input: 2000, output: 100 } }));
  const { llm } = testGateway(config, api.orm);
  const call = (agentId: 'guardian' | 'imperium', profile?: 'anthropic:claude-3-5-haiku-latest') =>
    llm.complete({
      agentId,
      purpose: 'scan.review',
      messages: [{ role: 'user', content: `review ${agentId} ${profile ?? ''}` }],
      maxTokens: 600,
      temperature: 0,
      profile,
    });
  await call('guardian');
  await call('guardian'); // cache hit
  await call('imperium', 'anthropic:claude-3-5-haiku-latest');
});
afterAll(async () => {
  await api.close();
  await fakes.close();
  await db.drop();
});

interface Summary {
  month: string;
  totals: Record<string, number>;
  budget: unknown;
  byAgent: Array<{ agentId: string | null }>;
  byProvider: Array<{ provider: string }>;
  llm: unknown;
}

describe('GET /api/token-usage/summary', () => {
  it('sums the month per agent and provider against their budgets', async () => {
    const res = await api.request('GET', '/api/token-usage/summary', { key: viewer });
    expect(res.status).toBe(200);
    const body = res.body as Summary;
    expect(body.month).toBe(budgetMonth(new Date()));
    expect(body.totals).toMatchObject({ calls: 3, cacheHits: 1, inputTokens: 3000, outputTokens: 600 });
    expect(body.totals.costUsd).toBeCloseTo((1000 * 0.15 + 500 * 0.6 + 2000 * 0.8 + 100 * 4) / 1e6, 9);
    expect(body.budget).toMatchObject({
      scope: 'global',
      monthlyTokens: 100000,
      source: 'default',
      usedTokens: 3600,
      usedTokensPct: 3.6,
    });
    expect(body.byAgent.find((a) => a.agentId === 'guardian')).toMatchObject({
      calls: 2,
      cacheHits: 1,
      inputTokens: 1000,
      budget: { scope: 'agent:guardian', monthlyTokens: null },
    });
    expect(body.byProvider.find((p) => p.provider === 'anthropic')).toMatchObject({
      configured: true,
      calls: 1,
      outputTokens: 100,
    });
    expect(body.llm).toMatchObject({
      configured: true,
      profiles: { primary: 'openai:gpt-4o-mini', fallback: 'anthropic:claude-3-5-haiku-latest' },
    });
  });

  it('rejects a malformed month and answers an empty month with zeros', async () => {
    const bad = await api.request('GET', '/api/token-usage/summary?month=2026-13', { key: viewer });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'invalid_request', details: [{ field: 'month' }] } });
    const empty = await api.request('GET', '/api/token-usage/summary?month=2001-01', { key: viewer });
    expect(empty.body).toMatchObject({ month: '2001-01', totals: { calls: 0, costUsd: 0 } });
  });
});

describe('GET /api/token-usage/events', () => {
  it('lists ledger rows newest first, filtered and paginated', async () => {
    const res = await api.request('GET', '/api/token-usage/events?agentId=guardian&limit=1', { key: viewer });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      items: [{ agentId: 'guardian', outcome: 'cache_hit', costUsd: 0, cacheHit: true }],
      page: { limit: 1, offset: 0, total: 2 },
    });
    const byOutcome = await api.request('GET', '/api/token-usage/events?outcome=ok&provider=anthropic', {
      key: viewer,
    });
    expect(byOutcome.body).toMatchObject({
      items: [{ agentId: 'imperium', model: 'claude-3-5-haiku-latest', inputTokens: 2000 }],
      page: { total: 1 },
    });
  });

  it('names the invalid filter', async () => {
    const res = await api.request('GET', '/api/token-usage/events?outcome=great&limit=500', { key: viewer });
    expect(res.status).toBe(400);
    const fields = (res.body as { error: { details: Array<{ field: string }> } }).error.details
      .map((d) => d.field)
      .sort();
    expect(fields).toEqual(['limit', 'outcome']);
  });
});

describe('budgets', () => {
  it('lists every scope with its limits and usage', async () => {
    const res = await api.request('GET', '/api/token-usage/budgets', { key: viewer });
    expect(res.status).toBe(200);
    const items = (res.body as { items: Array<{ scope: string }> }).items;
    expect(items.map((b) => b.scope)).toEqual([
      'global',
      'agent:imperium',
      'agent:guardian',
      'agent:sandbox',
      'agent:conquest',
      'provider:openai',
      'provider:anthropic',
    ]);
  });

  it('lets only an admin set a budget, audits it, and reports it back', async () => {
    const body = { monthlyTokens: 50000, monthlyUsd: 2.5 };
    expect((await api.request('PUT', '/api/token-usage/budgets/agent:guardian', { key: operator, body })).status).toBe(
      403,
    );
    const res = await api.request('PUT', '/api/token-usage/budgets/agent:guardian', { key: admin, body });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      scope: 'agent:guardian',
      monthlyTokens: 50000,
      monthlyUsd: 2.5,
      source: 'stored',
      usedTokens: 1500,
      usedTokensPct: 3,
      updatedBy: 'root-admin',
    });
    const audit = await api.orm.em.fork().findOne(AuditLog, { target: 'budget:agent:guardian', status: 200 });
    expect(audit).toMatchObject({ actorName: 'root-admin', method: 'PUT' });
  });

  it('rejects an unknown scope and a malformed body with the field named', async () => {
    const scope = await api.request('PUT', '/api/token-usage/budgets/agent:nobody', {
      key: admin,
      body: { monthlyTokens: 1, monthlyUsd: null },
    });
    expect(scope.status).toBe(400);
    expect(scope.body).toMatchObject({ error: { details: [{ field: 'scope' }] } });
    const body = await api.request('PUT', '/api/token-usage/budgets/global', {
      key: admin,
      body: { monthlyTokens: -5 },
    });
    expect(body.status).toBe(400);
    const fields = (body.body as { error: { details: Array<{ field: string }> } }).error.details
      .map((d) => d.field)
      .sort();
    expect(fields).toEqual(['monthlyTokens', 'monthlyUsd']);
  });
});
