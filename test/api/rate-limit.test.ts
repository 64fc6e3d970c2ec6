import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { testConfig } from '../helpers/config';
import { startTestApi, type TestApi } from '../helpers/api';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { AuditLog } from '../../src/db/entities';
import { redisRateLimitStore } from '../../src/rate-limit-store';

const REDIS_URL = 'redis://127.0.0.1:6379';

let db: TestDatabase;
let api: TestApi;
beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApi(testConfig(db.url, { RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '60000' }));
});
afterAll(async () => {
  await api.close();
  await db.drop();
});

it('limits each key separately and answers 429 with Retry-After', async () => {
  const a = await api.key('viewer');
  const b = await api.key('viewer');
  const statuses = [];
  for (let i = 0; i < 4; i++) statuses.push((await api.request('GET', '/api/agents', { key: a })).status);
  expect(statuses).toEqual([200, 200, 200, 429]);
  const limited = await api.request('GET', '/api/agents', { key: a });
  expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(limited.body).toMatchObject({ error: { code: 'rate_limited' } });
  expect((await api.request('GET', '/api/agents', { key: b })).status).toBe(200);
});

it('counts /API/… (any case) against the same key as /api/…, and audits the 429', async () => {
  const key = await api.key('viewer', 'case-mixer');
  const statuses = [];
  for (const path of ['/api/agents', '/API/agents', '/Api/agents', '/api/AGENTS'])
    statuses.push((await api.request('GET', path, { key })).status);
  expect(statuses).toEqual([200, 200, 200, 429]);
  const rows = await api.orm.em.fork().find(AuditLog, { actorName: 'case-mixer' });
  expect(rows.map((r) => [r.method, r.path, r.status])).toEqual([['GET', '/api/AGENTS', 429]]);
});

describe('failed authentications per client IP', () => {
  let redis: Redis;
  let a: TestApi;
  let b: TestApi;
  beforeAll(async () => {
    // Two API processes sharing one Redis store, as in production: the count holds across them.
    redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    const store = redisRateLimitStore(redis, `lvlup:test:${randomUUID()}:`);
    const config = testConfig(db.url, { AUTH_FAILURE_LIMIT_MAX: '5', AUTH_FAILURE_LIMIT_WINDOW_MS: '60000' });
    a = await startTestApi(config, { rateLimitStore: store });
    b = await startTestApi(config, { rateLimitStore: store });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    redis.disconnect();
  });

  it('refuses an IP with 429 and Retry-After, before any key lookup, after N failures across API processes', async () => {
    const good = await a.key('viewer');
    expect((await a.request('GET', '/api/agents', { key: good })).status).toBe(200);
    const statuses = [];
    for (let i = 0; i < 6; i++)
      statuses.push(
        (await (i % 2 === 0 ? a : b).request('GET', '/api/agents', { key: `lvl_guess${i}`.padEnd(47, 'x') })).status,
      );
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    const limited = await b.request('POST', '/api/agents/guardian/pause', { key: good, body: '{oops' });
    expect([limited.status, limited.body]).toEqual([
      429,
      { error: { code: 'rate_limited', message: expect.stringMatching(/retry after \d+ s/) } },
    ]);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Successful authentications do not count: only failures.
    const rows = await a.orm.em.fork().find(AuditLog, { keyPrefix: 'lvl_guess0' });
    expect(rows.map((r) => r.status)).toEqual([401]);
  });

  it('records a flood of refused requests as one 429 per client per minute, not one row per request', async () => {
    const before = await a.orm.em.fork().count(AuditLog, { status: 429 });
    const statuses = [];
    for (let i = 0; i < 40; i++)
      statuses.push(
        (await (i % 2 === 0 ? a : b).request('GET', '/api/agents', { key: `lvl_flood${i}`.padEnd(47, 'x') })).status,
      );
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(35);
    expect((await a.orm.em.fork().count(AuditLog, { status: 429 })) - before).toBeLessThanOrEqual(1);
  });
});
