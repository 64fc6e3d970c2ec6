import { randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { presentAgent } from '../../src/api/routes/agents/presenter';
import { presentExamSummary, presentLeader } from '../../src/api/routes/custody/presenter';
import { presentFinding } from '../../src/api/routes/guardian/presenter';
import { presentNotification } from '../../src/api/routes/notifications/presenter';
import { presentProposalSummary } from '../../src/api/routes/proposals/presenter';
import { budgetMonth } from '../../src/domain/llm';
import { budgetStates, usageSummary, usageTotals } from '../../src/llm/reports';
import { Agent, AgentSkillRating, Exam, Finding, Notification, Proposal, Repository } from '../../src/db/entities';
import { startTestApi, type TestApi } from '../helpers/api';
import { testConfig } from '../helpers/config';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { seedExam, seedLedger, seedProposal } from '../helpers/seed';

/**
 * Issue 17: the hot read routes answer with ONE database round trip (the handler's; the key lookup is cached and the
 * audit does not write for a read), without the unit of work, and with the JSON the entity-based code produced.
 * Statements are counted client-side on the ORM's knex (`query` events), and the query histogram is read at /metrics.
 */

let db: TestDatabase;
let api: TestApi;
let viewer: string;
const sent: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApi(testConfig(db.url, { RATE_LIMIT_MAX: '10000' }));
  viewer = await api.key('viewer');
  const em = api.orm.em.fork();
  const repository = new Repository({ name: 'example', path: `/tmp/example-${randomUUID()}`, testCmd: 'npm test' });
  await em.persistAndFlush(repository);
  for (const status of ['passed', 'failed', 'running'] as const)
    await seedExam(em, {
      agentId: 'guardian',
      status,
      completedAt: status === 'running' ? null : new Date(),
      levels: [1, 2],
    });
  await seedExam(em, { agentId: 'imperium', status: 'passed', completedAt: new Date() });
  await seedProposal(em, {
    agentId: 'guardian',
    status: 'applied',
    completedAt: new Date(),
    review: { decision: 'approve', at: new Date() },
  });
  await seedProposal(em, { agentId: 'imperium', status: 'drafting', completedAt: null });
  await seedLedger(em, [
    { at: new Date(), agentId: 'guardian', provider: 'openai', inputTokens: 100, outputTokens: 20, costUsd: 0.001 },
    { at: new Date(), agentId: null, provider: 'anthropic', inputTokens: 7, outputTokens: 3, costUsd: 0.0005 },
  ]);
  for (const [severity, tool] of [
    ['high', 'semgrep'],
    ['critical', 'gitleaks'],
    ['low', 'semgrep'],
  ] as const) {
    em.persist(
      new Finding({
        repositoryId: repository.id,
        agentId: 'guardian',
        kind: 'security',
        tool,
        rule: `r-${severity}`,
        severity,
        title: severity,
        message: 'm',
        file: 'a.ts',
        line: 1,
        fingerprint: randomBytes(16).toString('hex'),
        firstRunId: randomUUID(),
      }),
    );
  }
  em.persist(
    new Notification({
      kind: 'level_up',
      title: 'up',
      message: 'level 2',
      priority: 'high',
      data: { agentId: 'guardian', level: 2 },
    }),
  );
  em.persist(new Notification({ kind: 'weekly_report', title: 'week', message: 'the week', data: { exams: 3 } }));
  await em.upsert(AgentSkillRating, {
    agentId: 'guardian',
    category: 'code_quality',
    rating: 1216.4,
    examsCount: 1,
    updatedAt: new Date(),
  });
  await em.flush();
  api.orm.em
    .getConnection()
    .getKnex()
    .on('query', (q: { sql: string }) => sent.push(q.sql));
});
afterAll(async () => {
  await api.close();
  await db.drop();
});

/** The statements a GET sends, its auth lookup warmed first (the key is then cached for 5 s; rerun if that lapsed). */
async function statementsOf(path: string): Promise<{ status: number; body: unknown; sql: string[] }> {
  for (let attempt = 0; ; attempt++) {
    expect((await api.request('GET', path, { key: viewer })).status).toBe(200);
    sent.length = 0;
    const res = await api.request('GET', path, { key: viewer });
    const sql = [...sent];
    const authLookup = sql.some((s) => /\bapi_keys\b/.test(s));
    if (!authLookup || attempt >= 3) return { status: res.status, body: res.body, sql };
  }
}

const HOT_ROUTES = [
  '/api/agents',
  '/api/agents?status=active&limit=2&offset=1',
  '/api/agents/guardian',
  '/api/custody/tests',
  '/api/custody/tests?agentId=guardian&status=passed',
  '/api/custody/leaderboard',
  '/api/proposals',
  '/api/proposals?agent=guardian',
  '/api/guardian/findings',
  '/api/guardian/findings?tool=semgrep',
  '/api/notifications',
  '/api/notifications?unread=true&kind=level_up',
  '/api/token-usage/summary',
  // An offset past the end: no items, the total still right, still one statement.
  '/api/custody/tests?offset=50',
];

describe('hot read routes', () => {
  it.each(HOT_ROUTES)('GET %s sends exactly one statement (after authentication, which is cached)', async (path) => {
    const { status, sql } = await statementsOf(path);
    expect(status).toBe(200);
    expect(sql).toHaveLength(1);
    expect(sql[0]).toMatch(/^\s*(select|with)\b/i);
  });

  it('answers the JSON the entity manager and the presenters gave (agents, leaderboard, exams, proposals, findings, notifications)', async () => {
    const em = api.orm.em.fork() as EntityManager;
    const ratings = await em.find(AgentSkillRating, {});
    const ratingsOf = (id: string) => ratings.filter((r) => r.agentId === id);
    const agents = await em.find(Agent, {}, { orderBy: { createdAt: 'asc', id: 'asc' } });
    const get = async (path: string) => (await api.request('GET', path, { key: viewer })).body;

    expect(await get('/api/agents')).toEqual({
      items: agents.map((a) => presentAgent(a, ratingsOf(a.id))),
      page: { limit: 50, offset: 0, total: 4 },
    });
    expect(await get('/api/agents?limit=2&offset=1')).toEqual({
      items: agents.slice(1, 3).map((a) => presentAgent(a, ratingsOf(a.id))),
      page: { limit: 2, offset: 1, total: 4 },
    });
    expect(await get('/api/agents/guardian')).toEqual(
      presentAgent(agents.find((a) => a.id === 'guardian') as Agent, ratingsOf('guardian')),
    );
    expect(
      ((await get('/api/agents/guardian')) as { skillRatings: Record<string, unknown> }).skillRatings.code_quality,
    ).toEqual({ rating: 1216.4, exams: 1 });

    const leaders = await em.find(Agent, {}, { orderBy: { level: 'desc', xp: 'desc', id: 'asc' } });
    const avg = (id: string) =>
      ratingsOf(id).length === 0 ? null : ratingsOf(id).reduce((s, r) => s + r.rating, 0) / ratingsOf(id).length;
    expect(await get('/api/custody/leaderboard')).toEqual({
      items: leaders.map((a, i) => presentLeader(a, i + 1, avg(a.id))),
    });

    const exams = await em.find(Exam, { agentId: 'guardian' }, { orderBy: { startedAt: 'desc', id: 'asc' } });
    expect(await get('/api/custody/tests?agentId=guardian&limit=2')).toEqual({
      items: exams.slice(0, 2).map(presentExamSummary),
      page: { limit: 2, offset: 0, total: 3 },
    });
    expect(await get('/api/custody/tests?offset=50')).toEqual({ items: [], page: { limit: 50, offset: 50, total: 4 } });

    const proposals = await em.find(Proposal, {}, { orderBy: { createdAt: 'desc', id: 'asc' } });
    expect(await get('/api/proposals')).toEqual({
      items: proposals.map(presentProposalSummary),
      page: { limit: 50, offset: 0, total: 2 },
    });

    const findings = (await em.find(Finding, { kind: 'security' })).sort(
      (a, b) =>
        ['critical', 'high', 'medium', 'low'].indexOf(a.severity) -
        ['critical', 'high', 'medium', 'low'].indexOf(b.severity),
    );
    expect(await get('/api/guardian/findings')).toEqual({
      items: findings.map(presentFinding),
      page: { limit: 50, offset: 0, total: 3 },
    });
    expect(await get('/api/guardian/findings?tool=semgrep&limit=1')).toEqual({
      items: [presentFinding(findings.find((f) => f.severity === 'high') as Finding)],
      page: { limit: 1, offset: 0, total: 2 },
    });

    const notifications = await em.find(Notification, {}, { orderBy: { seq: 'desc' } });
    expect(await get('/api/notifications')).toEqual({
      items: notifications.map(presentNotification),
      page: { limit: 50, offset: 0, total: 2 },
    });
    expect(await get('/api/notifications?unread=false')).toEqual({
      items: [],
      page: { limit: 50, offset: 0, total: 0 },
    });
  });

  it('sums the token usage summary as the four grouped queries and the budget query did', async () => {
    const em = api.orm.em.fork() as EntityManager;
    const defaults = testConfig(db.url).llm.defaultBudget;
    for (const month of [budgetMonth(new Date()), '2001-01']) {
      const [all] = await usageTotals(em, month, 'all');
      expect(await usageSummary(em, month, defaults)).toEqual({
        all,
        byAgent: await usageTotals(em, month, 'agent'),
        byProvider: await usageTotals(em, month, 'provider'),
        byModel: await usageTotals(em, month, 'model'),
        budgets: await budgetStates(em, month, defaults),
      });
    }
  });

  it('keeps filter values out of the SQL (a quote in a filter is a value, not syntax)', async () => {
    const { status, body, sql } = await statementsOf(
      `/api/guardian/findings?tool=${encodeURIComponent("x' or '1'='1")}`,
    );
    expect(status).toBe(200);
    expect(body).toEqual({ items: [], page: { limit: 50, offset: 0, total: 0 } });
    expect(sql.join('\n')).not.toContain("'1'='1");
  });
});

describe('db_query_duration_seconds', () => {
  it('is served at /metrics with the real queries counted by kind', async () => {
    await api.request('GET', '/api/agents', { key: viewer });
    const text = (await api.request('GET', '/metrics')).text;
    const count = (kind: string) =>
      Number(new RegExp(`^db_query_duration_seconds_count\\{kind="${kind}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    expect(text).toContain('# TYPE db_query_duration_seconds histogram');
    expect(count('select')).toBeGreaterThan(0);
    expect(count('insert')).toBeGreaterThan(0); // the seeding went through the same ORM
    expect(text).toMatch(/^db_query_duration_seconds_bucket\{le="0\.1",kind="select"\} \d+$/m);
  });
});
