import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { testConfig } from '../helpers/config';
import { startTestApi } from '../helpers/api';
import { freePort } from '../helpers/env';
import { registerWorker } from '../../src/db/workers';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

it('is ready when PostgreSQL and Temporal answer', async () => {
  const api = await startTestApi(testConfig(db.url));
  try {
    const res = await api.request('GET', '/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'ready',
      checks: { database: 'up', temporal: 'up' },
      sandbox: { isolation: 'unknown', workers: 0 },
      queues: {
        workflows: { queue: 'lvlup', workers: 0 },
        llm: { queue: 'lvlup-llm', workers: 0 },
        sandbox: { queue: 'lvlup-sandbox', workers: 0 },
      },
    });
    expect((await api.request('GET', '/healthz')).status).toBe(200);
  } finally {
    await api.close();
  }
});

it('shows the sandbox isolation the live workers announced, in /readyz and GET /api/system', async () => {
  const api = await startTestApi(testConfig(db.url));
  const worker = await registerWorker(api.orm, {
    identity: 'test-worker@host',
    taskQueue: 'lvlup',
    sandbox: { isolation: 'bwrap', cgroup: 'v1' },
  });
  try {
    expect((await api.request('GET', '/readyz')).body).toMatchObject({
      status: 'ready',
      sandbox: { isolation: 'bwrap', workers: 1 },
    });
    const system = await api.request('GET', '/api/system', { key: await api.key('viewer') });
    expect(system.status).toBe(200);
    expect(system.body).toMatchObject({
      database: 'up',
      temporal: 'up',
      sandbox: {
        isolation: 'bwrap',
        workers: [{ identity: 'test-worker@host', taskQueue: 'lvlup', sandbox: { isolation: 'bwrap', cgroup: 'v1' } }],
      },
      llm: { providers: expect.any(Array) },
    });
    expect((await api.request('GET', '/api/system')).status).toBe(401);
    await worker.stop();
    expect((await api.request('GET', '/readyz')).body).toMatchObject({ sandbox: { isolation: 'unknown', workers: 0 } });
  } finally {
    await worker.stop();
    await api.close();
  }
});

it('shows how many live workers poll each task queue: a queue nobody polls reads 0; a worker without a sandbox leaves the isolation alone', async () => {
  const api = await startTestApi(testConfig(db.url));
  const sandboxWorker = await registerWorker(api.orm, {
    identity: 'sandbox-worker@bwrap-host',
    taskQueue: 'lvlup-sandbox',
    sandbox: { isolation: 'bwrap' },
  });
  const mainWorker = await registerWorker(api.orm, {
    identity: 'main-worker@host',
    taskQueue: 'lvlup,lvlup-sandbox',
    sandbox: { isolation: 'bwrap' },
  });
  const llmWorker = await registerWorker(api.orm, {
    identity: 'llm-worker@other-host',
    taskQueue: 'lvlup-llm',
    sandbox: {},
  });
  try {
    expect((await api.request('GET', '/readyz')).body).toMatchObject({
      sandbox: { isolation: 'bwrap', workers: 3 },
      queues: {
        workflows: { queue: 'lvlup', workers: 1 },
        llm: { queue: 'lvlup-llm', workers: 1 },
        sandbox: { queue: 'lvlup-sandbox', workers: 2 },
      },
    });
    await llmWorker.stop();
    const system = await api.request('GET', '/api/system', { key: await api.key('viewer') });
    expect(system.body).toMatchObject({ queues: { llm: { queue: 'lvlup-llm', workers: 0 } } });
  } finally {
    await Promise.all([sandboxWorker.stop(), mainWorker.stop(), llmWorker.stop()]);
    await api.close();
  }
});

it('answers 503 naming the database when it is unreachable', async () => {
  const port = await freePort();
  const api = await startTestApi(testConfig(`postgres://postgres@127.0.0.1:${port}/nowhere`));
  try {
    const res = await api.request('GET', '/readyz');
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({
      error: {
        code: 'service_unavailable',
        message: 'not ready: database unreachable',
        details: { database: 'down', temporal: 'up' },
      },
    });
  } finally {
    await api.close();
  }
});

it('answers 503 naming Temporal when it is unreachable', async () => {
  const port = await freePort();
  const api = await startTestApi(testConfig(db.url, { TEMPORAL_ADDRESS: `127.0.0.1:${port}` }));
  try {
    const res = await api.request('GET', '/readyz');
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ error: { details: { database: 'up', temporal: 'down' } } });
  } finally {
    await api.close();
  }
});

it('answers 503 with Retry-After, never 500, when its database connection dies under a query, then 200 again', async () => {
  const api = await startTestApi(testConfig(db.url));
  const key = await api.key('viewer');
  // A third session holds the exams table, so the API's query is certainly in flight when its connection is killed —
  // as after a failover or an operator's pg_terminate_backend (a pool drops a connection it saw die, so only a kill
  // that lands during the request's own query reaches the handler). The old version raced a kill against a 1 ms query.
  const killer = new Client({ connectionString: db.url });
  const locker = new Client({ connectionString: db.url });
  await killer.connect();
  await locker.connect();
  try {
    await api.request('GET', '/api/custody/tests', { key }); // the pool holds a live connection
    await locker.query('begin');
    await locker.query('lock table exams in access exclusive mode');
    const pending = api.request('GET', '/api/custody/tests', { key });
    const blocked = async () =>
      Number(
        (
          await killer.query(
            `select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
          )
        ).rows[0].n,
      ) > 0;
    for (let i = 0; i < 500 && !(await blocked()); i++) await new Promise((r) => setTimeout(r, 10));
    expect(await blocked()).toBe(true);
    await killer.query(
      'select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid not in (pg_backend_pid(), $1)',
      [(locker as unknown as { processID: number }).processID],
    );
    const res = await pending;
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: { code: 'service_unavailable', message: 'the database is unavailable' } });
    expect(res.headers.get('retry-after')).toBe('2');
    await locker.query('rollback');
    expect((await api.request('GET', '/api/custody/tests', { key })).status).toBe(200);
  } finally {
    await locker.query('rollback').catch(() => undefined);
    await locker.end();
    await killer.end();
    await api.close();
  }
});
