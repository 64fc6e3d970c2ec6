import type { EntityManager } from '@mikro-orm/postgresql';
import { startTestApi, type TestApi } from '../helpers/api';
import { testConfig } from '../helpers/config';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { seedExam, seedLedger, seedProposal, seedRun } from '../helpers/seed';

let db: TestDatabase;
let api: TestApi;
let viewer: string;
const em = () => api.orm.em.fork() as EntityManager;
const ago = (hours: number) => new Date(Date.now() - hours * 3_600_000);
const DAY = 24;

interface KpiBody {
  measuredAt: string;
  summary: { met: number; notMet: number; noData: number };
  items: Array<{
    name: string;
    value: number | null;
    unit: string;
    target: number;
    comparator: string;
    met: boolean | null;
    window: string;
    source: string;
    detail: string;
  }>;
}

async function kpis(): Promise<Map<string, KpiBody['items'][number]>> {
  const res = await api.request('GET', '/api/kpis', { key: viewer });
  expect(res.status).toBe(200);
  return new Map((res.body as KpiBody).items.map((k) => [k.name, k]));
}

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApi(testConfig(db.url, { RATE_LIMIT_MAX: '10000' }));
  viewer = await api.key('viewer');
});
afterAll(async () => {
  await api.close();
  await db.drop();
});

it('reports no value and met: null for every KPI without data on an empty database, saying why', async () => {
  const res = await api.request('GET', '/api/kpis', { key: viewer });
  expect(res.status).toBe(200);
  const body = res.body as KpiBody;
  expect(body.items.map((k) => k.name)).toEqual([
    'api_response_time_p95',
    'error_rate',
    'db_query_time',
    'cache_hit_rate',
    'background_task_success',
    'exam_pass_rate',
    'proposal_approval_rate',
    'judge_agreement',
  ]);
  for (const k of body.items.filter((i) => i.name !== 'db_query_time')) {
    // This is the process's first request: it is only measured once answered.
    expect(k).toMatchObject({ value: null, met: null, detail: expect.stringMatching(/^no /) });
  }
  // The key lookup of this very request (and the key's creation, same ORM) went through the query histogram already.
  const probe = body.items.find((k) => k.name === 'db_query_time');
  expect(probe).toMatchObject({
    unit: 'ms',
    target: 100,
    comparator: '<=',
    window: expect.stringMatching(/^since this API process started/),
    source: expect.stringMatching(/db_query_duration_seconds/),
    detail: expect.stringMatching(/^\d+ queries \(.*select \d+/),
  });
  expect(probe?.value).toBeGreaterThan(0);
  expect(probe?.met).toBe((probe?.value ?? Infinity) <= 100);
  expect(body.summary).toEqual({ met: probe?.met ? 1 : 0, notMet: probe?.met ? 0 : 1, noData: 7 });
});

it('lets every role read the KPIs and no one without a key', async () => {
  expect((await api.request('GET', '/api/kpis')).status).toBe(401);
  expect((await api.request('GET', '/api/kpis', { key: 'lvl_not-a-key' })).status).toBe(401);
  for (const role of ['viewer', 'operator', 'admin'] as const)
    expect((await api.request('GET', '/api/kpis', { key: await api.key(role) })).status).toBe(200);
  expect((await api.request('POST', '/api/kpis', { key: viewer })).status).toBe(405);
});

it('measures the API’s own requests from its metrics: p95 and 5xx share since start', async () => {
  for (let i = 0; i < 5; i++) await api.request('GET', '/api/agents', { key: viewer });
  const k = await kpis();
  const p95 = k.get('api_response_time_p95');
  expect(p95?.value).toBeGreaterThan(0);
  expect(p95?.value).toBeLessThanOrEqual(5000);
  expect(p95).toMatchObject({
    unit: 'ms',
    target: 200,
    met: (p95?.value ?? Infinity) <= 200,
    window: expect.stringMatching(/since this API process started/),
    source: expect.stringMatching(/http_request_duration_seconds/),
  });
  const errors = k.get('error_rate');
  expect(errors).toMatchObject({
    value: 0,
    met: true,
    detail: expect.stringMatching(/^0 of \d+ requests answered with a 5xx status$/),
  });
  expect(Number(/of (\d+) requests/.exec(errors?.detail ?? '')?.[1])).toBeGreaterThanOrEqual(10);
});

it('computes cache hit rate, task success, exam pass rate and approval rate from the seeded rows in their windows', async () => {
  // Cache: 3 hits, 2 provider answers (ok, bad_output) → 60 %; a refusal, and anything older than 24 h, is not counted.
  await seedLedger(em(), [
    ...[1, 2, 3].map((h) => ({
      at: ago(h),
      agentId: 'guardian' as const,
      provider: 'openai' as const,
      outcome: 'cache_hit' as const,
    })),
    { at: ago(4), agentId: 'guardian', provider: 'openai', outcome: 'ok', inputTokens: 10, outputTokens: 5 },
    { at: ago(5), agentId: 'imperium', provider: 'anthropic', outcome: 'bad_output', inputTokens: 10, outputTokens: 5 },
    { at: ago(6), agentId: 'imperium', provider: 'anthropic', outcome: 'budget_exceeded' },
    ...[1, 2, 3, 4].map(() => ({
      at: ago(30),
      agentId: 'sandbox' as const,
      provider: 'openai' as const,
      outcome: 'ok' as const,
    })),
  ]);
  // Background work over 7 days: 18 runs completed, 1 failed; exams 8 passed + 2 failed graded, 1 error → 28 / 30.
  for (let i = 0; i < 18; i++)
    await seedRun(em(), { agentId: 'guardian', kind: 'guardian_scan', status: 'completed', startedAt: ago(2 + i) });
  await seedRun(em(), { agentId: 'imperium', kind: 'learning_cycle', status: 'failed', startedAt: ago(3) });
  await seedRun(em(), { agentId: 'conquest', kind: 'conquest_analysis', status: 'skipped', startedAt: ago(3) });
  await seedRun(em(), { agentId: 'sandbox', kind: 'sandbox_experiment', status: 'failed', startedAt: ago(8 * DAY) });
  const agents = ['imperium', 'guardian', 'sandbox', 'conquest'] as const;
  for (let i = 0; i < 8; i++)
    await seedExam(em(), { agentId: agents[i % 4] ?? 'guardian', status: 'passed', completedAt: ago(10 + i) });
  for (let i = 0; i < 2; i++) await seedExam(em(), { agentId: 'conquest', status: 'failed', completedAt: ago(20 + i) });
  await seedExam(em(), { agentId: 'sandbox', status: 'error', completedAt: ago(30) });
  // Exams older than 7 days count for the pass rate (30 days) only: 8 + 2 passed, 2 + 3 failed → 10 / 15.
  for (let i = 0; i < 2; i++)
    await seedExam(em(), { agentId: 'imperium', status: 'passed', completedAt: ago(10 * DAY + i) });
  for (let i = 0; i < 3; i++)
    await seedExam(em(), { agentId: 'imperium', status: 'failed', completedAt: ago(12 * DAY + i) });
  await seedExam(em(), { agentId: 'imperium', status: 'failed', completedAt: ago(40 * DAY) });
  // Reviews over 30 days: 17 approved, 3 rejected → 85 %; older reviews and undecided proposals do not count.
  for (let i = 0; i < 17; i++)
    await seedProposal(em(), {
      agentId: 'guardian',
      status: 'applied',
      completedAt: ago(i + 1),
      review: { decision: 'approve', at: ago(i + 1) },
    });
  for (let i = 0; i < 3; i++)
    await seedProposal(em(), {
      agentId: 'guardian',
      status: 'rejected',
      completedAt: ago(i + 1),
      review: { decision: 'reject', at: ago(i + 1) },
    });
  await seedProposal(em(), {
    agentId: 'guardian',
    status: 'rejected',
    completedAt: ago(31 * DAY),
    review: { decision: 'reject', at: ago(31 * DAY) },
  });
  await seedProposal(em(), { agentId: 'guardian', status: 'expired', completedAt: ago(2) });

  const k = await kpis();
  expect(k.get('cache_hit_rate')).toMatchObject({
    value: 60,
    unit: '%',
    target: 80,
    comparator: '>=',
    met: false,
    window: 'last 24 h',
    detail: '3 cache hits, 2 provider answers, 1 refused or failed calls not counted',
  });
  expect(k.get('background_task_success')).toMatchObject({
    value: Math.round((28 / 30) * 100_000) / 1000,
    target: 95,
    met: false,
    window: 'last 7 days',
    detail: '28 succeeded, 2 failed: runs 18/19, exams 10/11',
  });
  expect(k.get('exam_pass_rate')).toMatchObject({
    value: Math.round((10 / 15) * 100_000) / 1000,
    target: 80,
    met: false,
    detail: '10 of 15 exams passed',
  });
  expect(k.get('proposal_approval_rate')).toMatchObject({
    value: 85,
    target: 85,
    met: true,
    detail: '17 approved, 3 rejected',
  });
});
