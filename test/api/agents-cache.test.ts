import { Client } from 'pg';
import { TableCache } from '../../src/db/table-cache';
import { createLogger } from '../../src/logger';
import { startTestApi, type TestApi } from '../helpers/api';
import { testConfig } from '../helpers/config';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { waitFor } from '../helpers/wait';

/**
 * Issue 17: `GET /api/agents` answered from memory until PostgreSQL notifies a change to `agents` or
 * `agent_skill_ratings` (src/db/table-cache.ts). What must hold: a hit sends no statement; another process's commit is
 * seen once its notification lands; this process's own write is seen by its very next read; while the change feed is
 * down every read goes to the database, and the answers kept before the outage are not served after it.
 */

let db: TestDatabase;
let api: TestApi;
let viewer: string;
let operator: string;
/** Another process writing, as the worker does when an exam ends. */
let writer: Client;
const sent: string[] = [];

const reads = async () => {
  const text = (await api.request('GET', '/metrics')).text;
  const count = (result: string) =>
    Number(new RegExp(`api_cache_reads_total\\{cache="agents",result="${result}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  return { hit: count('hit'), miss: count('miss'), bypass: count('bypass') };
};
const agents = async (query = '') => {
  const res = await api.request('GET', `/api/agents${query}`, { key: viewer });
  expect(res.status).toBe(200);
  return res.body as {
    items: Array<{ id: string; xp: number; status: string; skillRatings: Record<string, unknown> }>;
  };
};
const xpOf = async (id: string) => (await agents()).items.find((a) => a.id === id)?.xp;
/** The cache serves from memory once its LISTEN connection is up (it starts in the background). */
const cacheUp = async () => {
  await waitFor('the agents cache to listen', 10_000, async () => {
    const before = await reads();
    await agents('?limit=1');
    return (await reads()).bypass === before.bypass;
  });
};

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApi(testConfig(db.url, { AGENTS_CACHE: 'true', RATE_LIMIT_MAX: '10000' }));
  viewer = await api.key('viewer');
  operator = await api.key('operator');
  writer = new Client({ connectionString: db.url });
  await writer.connect();
  (api.orm.em.getConnection().getKnex() as unknown as NodeJS.EventEmitter).on('query', (q: { sql: string }) =>
    sent.push(q.sql),
  );
  await cacheUp();
});
afterAll(async () => {
  await writer.end();
  await api.close();
  await db.drop();
});

it('answers a repeated read from memory, without a statement, with the same JSON', async () => {
  const first = await agents();
  const before = await reads();
  sent.length = 0;
  const second = await agents();
  expect(sent.filter((sql) => /agents/.test(sql))).toEqual([]);
  expect(second).toEqual(first);
  expect((await reads()).hit).toBe(before.hit + 1);
  const res = await api.request('GET', '/api/agents', { key: viewer });
  expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
  expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(res.text)));
  // Another page or filter is another answer, loaded once.
  expect((await agents('?status=paused')).items).toEqual([]);
});

it('serves one agent and the leaderboard the same way (they read the same two tables); a 404 is never kept', async () => {
  for (const path of ['/api/agents/guardian', '/api/custody/leaderboard']) {
    const first = await api.request('GET', path, { key: viewer });
    expect(first.status).toBe(200);
    const before = await reads();
    sent.length = 0;
    const second = await api.request('GET', path, { key: viewer });
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(sent).toEqual([]);
    expect((await reads()).hit).toBe(before.hit + 1);
  }
  const xp = (await xpOf('guardian')) ?? 0;
  await writer.query('update agents set xp = xp + 5 where id = $1', ['guardian']);
  await waitFor('the new XP on the agent and the leaderboard', 5_000, async () => {
    const one = (await api.request('GET', '/api/agents/guardian', { key: viewer })).body as { xp: number };
    const board = (await api.request('GET', '/api/custody/leaderboard', { key: viewer })).body as {
      items: Array<{ agentId: string; xp: number }>;
    };
    return one.xp === xp + 5 && board.items.find((i) => i.agentId === 'guardian')?.xp === xp + 5;
  });
  for (let i = 0; i < 2; i++)
    expect((await api.request('GET', '/api/agents/nobody', { key: viewer })).status).toBe(404);
});

it("shows another process's committed change to an agent or its ratings once PostgreSQL's notification lands", async () => {
  const xp = (await xpOf('guardian')) ?? 0;
  await writer.query('update agents set xp = xp + 7 where id = $1', ['guardian']);
  await waitFor('the new XP', 5_000, async () => (await xpOf('guardian')) === xp + 7);
  await writer.query(
    `insert into agent_skill_ratings (agent_id, category, rating, exams_count, updated_at)
     values ('guardian', 'security', 1600, 1, now())
     on conflict (agent_id, category) do update set rating = 1600`,
  );
  await waitFor('the new rating', 5_000, async () => {
    const guardian = (await agents()).items.find((a) => a.id === 'guardian');
    return (guardian?.skillRatings.security as { rating?: number } | undefined)?.rating === 1600;
  });
  // A rolled-back write changes nothing and is never announced.
  await writer.query('begin');
  await writer.query('update agents set xp = 999999 where id = $1', ['guardian']);
  await writer.query('rollback');
  expect(await xpOf('guardian')).toBe(xp + 7);
});

it("shows this process's own pause on the very next read", async () => {
  expect((await agents()).items.find((a) => a.id === 'sandbox')?.status).toBe('active');
  for (const [action, status] of [
    ['pause', 'paused'],
    ['resume', 'active'],
  ] as const) {
    const res = await api.request('POST', `/api/agents/sandbox/${action}`, { key: operator, body: {} });
    expect(res.status).toBe(200);
    expect((await agents()).items.find((a) => a.id === 'sandbox')?.status).toBe(status);
  }
});

it('reads the database while its change feed is down, and never serves an answer kept from before the outage', async () => {
  const xp = (await xpOf('conquest')) ?? 0;
  await agents(); // kept
  // The feed dies (a failover, an operator's pg_terminate_backend); a change is committed while nobody listens.
  const killed = await writer.query(
    `select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'lvlup-api-cache' and datname = current_database()`,
  );
  expect(killed.rowCount).toBe(1);
  await waitFor('the cache to notice', 5_000, async () => {
    const before = await reads();
    await agents();
    return (await reads()).bypass > before.bypass;
  });
  await writer.query('update agents set xp = xp + 11 where id = $1', ['conquest']);
  const before = await reads();
  expect(await xpOf('conquest')).toBe(xp + 11);
  expect((await reads()).bypass).toBe(before.bypass + 1);
  // Back (reconnected within a second): kept answers again, built after the outage.
  await cacheUp();
  expect(await xpOf('conquest')).toBe(xp + 11);
  const hits = (await reads()).hit;
  expect(await xpOf('conquest')).toBe(xp + 11);
  expect((await reads()).hit).toBe(hits + 1);
});

it('does not keep an answer loaded while a change was announced (it may predate the change)', async () => {
  const TABLES = ['agents', 'agent_skill_ratings'];
  const cache = new TableCache({ connectionString: db.url, logger: createLogger({ level: 'error', format: 'json' }) });
  cache.start();
  try {
    await waitFor('the cache to listen', 5_000, async () => cache.active);
    const loaded = await cache.read('k', TABLES, async () => {
      cache.invalidate('agents'); // a notification arrives while this load's statement runs
      return 'read before the change';
    });
    expect(loaded).toBe('read before the change');
    expect(await cache.read('k', TABLES, async () => 'read after')).toBe('read after');
    expect(await cache.read('k', TABLES, async () => 'not called')).toBe('read after');
    cache.invalidate('agent_skill_ratings');
    expect(await cache.read('k', TABLES, async () => 'reloaded')).toBe('reloaded');
    cache.invalidate('exams'); // a table it did not read
    expect(await cache.read('k', TABLES, async () => 'not called')).toBe('reloaded');
  } finally {
    await cache.close();
  }
});
