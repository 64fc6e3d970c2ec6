import { randomBytes } from 'node:crypto';
import { AuditLog, StoredSecret } from '../../src/db/entities';
import { startTestApi, type TestApi } from '../helpers/api';
import { testConfig } from '../helpers/config';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

const ENV_URL = 'https://env.example.com/hooks/lvlup';
const SECRET = 'api-webhook-secret-do-not-leak-42';

let db: TestDatabase;
let api: TestApi;
let bare: TestApi;
let operator: string;
let admin: string;

beforeAll(async () => {
  db = await createTestDatabase();
  const env = { RATE_LIMIT_MAX: '1000', WEBHOOK_URL: ENV_URL, WEBHOOK_SECRET: 'env-secret-0123456789' };
  api = await startTestApi(testConfig(db.url, { ...env, DATA_ENCRYPTION_KEY: randomBytes(32).toString('hex') }));
  // The same database served by an API that has no DATA_ENCRYPTION_KEY.
  bare = await startTestApi(testConfig(db.url, env));
  [operator, admin] = await Promise.all([api.key('operator'), api.key('admin', 'settings-admin')]);
});
afterEach(() => api.orm.em.fork().nativeDelete(StoredSecret, {}));
afterAll(async () => {
  await bare.close();
  await api.close();
  await db.drop();
});

it('is for admins only: an operator gets 403 on every webhook route', async () => {
  for (const method of ['GET', 'PUT', 'DELETE']) {
    const res = await api.request(method, '/api/settings/webhook', {
      key: operator,
      body: method === 'PUT' ? { url: 'https://x.example.com', secret: SECRET } : undefined,
    });
    expect(res.status).toBe(403);
  }
  expect(await api.orm.em.fork().count(StoredSecret, {})).toBe(0);
});

it('shows the environment’s webhook until one is set through the API', async () => {
  const res = await api.request('GET', '/api/settings/webhook', { key: admin });
  expect(res.status).toBe(200);
  expect(res.body).toEqual({
    url: ENV_URL,
    secretSet: true,
    source: 'env',
    enabled: true,
    since: null,
    updatedAt: null,
    updatedBy: null,
  });
});

it('stores the webhook sealed, overriding the environment, and never returns the secret', async () => {
  const put = await api.request('PUT', '/api/settings/webhook', {
    key: admin,
    body: { url: 'https://hooks.example.com/in', secret: SECRET },
  });
  expect(put.status).toBe(200);
  expect(put.body).toMatchObject({
    url: 'https://hooks.example.com/in',
    secretSet: true,
    source: 'api',
    enabled: true,
    updatedBy: 'settings-admin',
  });
  expect(put.text).not.toContain(SECRET);
  const get = await api.request('GET', '/api/settings/webhook', { key: admin });
  expect(get.body).toEqual(put.body);
  expect(get.text).not.toContain(SECRET);

  const rows = await api.orm.em.fork().find(StoredSecret, {}, { orderBy: { name: 'asc' } });
  expect(rows.map((r) => r.name)).toEqual(['webhook_secret', 'webhook_url']);
  for (const row of rows) {
    expect(row.ciphertext).toMatch(/^v1:[0-9a-f]{16}:/);
    expect(row.ciphertext).not.toContain(SECRET);
    expect(row.ciphertext).not.toContain('hooks.example.com');
  }
  const audit = await api.orm.em
    .fork()
    .findOneOrFail(AuditLog, { method: 'PUT', target: 'settings:webhook' }, { orderBy: { id: 'desc' } });
  expect(audit).toMatchObject({ actorName: 'settings-admin', status: 200 });
});

it('keeps when the url was set across a secret change, and resets it when the url changes', async () => {
  const first = await api.request('PUT', '/api/settings/webhook', {
    key: admin,
    body: { url: 'https://a.example.com', secret: SECRET },
  });
  const since = (first.body as { since: string }).since;
  const rotated = await api.request('PUT', '/api/settings/webhook', { key: admin, body: { secret: `${SECRET}-2` } });
  expect(rotated.body).toMatchObject({ url: 'https://a.example.com', since });
  await new Promise((r) => setTimeout(r, 5));
  const moved = await api.request('PUT', '/api/settings/webhook', {
    key: admin,
    body: { url: 'https://b.example.com' },
  });
  expect(moved.body).toMatchObject({ url: 'https://b.example.com', secretSet: true });
  expect(Date.parse((moved.body as { since: string }).since)).toBeGreaterThan(Date.parse(since));
});

it('turns webhooks off with a null url, and DELETE falls back to the environment', async () => {
  const off = await api.request('PUT', '/api/settings/webhook', { key: admin, body: { url: null } });
  expect(off.status).toBe(200);
  expect(off.body).toMatchObject({ url: null, source: 'api', enabled: false, secretSet: false });
  const del = await api.request('DELETE', '/api/settings/webhook', { key: admin });
  expect(del.status).toBe(200);
  expect(del.body).toMatchObject({ url: ENV_URL, source: 'env' });
  expect(await api.orm.em.fork().count(StoredSecret, {})).toBe(0);
});

it('names the problem with an invalid or incomplete setting', async () => {
  const cases: Array<[unknown, string]> = [
    [{ url: 'ftp://example.com', secret: SECRET }, 'url'],
    [{ url: 'https://x.example.com', secret: 'short' }, 'secret'],
    [{}, '(body)'],
    [{ url: 'https://x.example.com', secret: SECRET, extra: 1 }, '(body)'],
    [{ url: 'https://x.example.com' }, 'secret'],
    [{ secret: SECRET }, 'url'],
  ];
  for (const [body, field] of cases) {
    const res = await api.request('PUT', '/api/settings/webhook', { key: admin, body });
    expect(res.status).toBe(400);
    expect((res.body as { error: { details: Array<{ field: string }> } }).error.details[0]?.field).toBe(field);
  }
  expect(await api.orm.em.fork().count(StoredSecret, {})).toBe(0);
});

it('refuses a loopback, private, link-local or metadata url with a 400 saying why, numeric forms included', async () => {
  const urls = [
    'http://169.254.169.254/latest/meta-data/iam/',
    'http://127.0.0.1:9000/hook',
    'http://[::1]/hook',
    'http://0x7f000001/hook',
    'http://2130706433/hook',
    'http://0177.0.0.1/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://10.1.2.3/hook',
    'http://100.64.0.1/hook',
    'http://[fe80::1]/hook',
    'http://[fd00::1]/hook',
    'http://0.0.0.0/hook',
    'http://localhost:9000/hook',
  ];
  for (const url of urls) {
    const res = await api.request('PUT', '/api/settings/webhook', { key: admin, body: { url, secret: SECRET } });
    expect({ url, status: res.status }).toEqual({ url, status: 400 });
    expect(res.body).toMatchObject({
      error: {
        code: 'bad_request',
        details: [
          {
            field: 'url',
            message: expect.stringMatching(/^\S+ (is|resolves to \S+,) an? .+ address; set WEBHOOK_ALLOW_PRIVATE=true/),
          },
        ],
      },
    });
  }
  expect(await api.orm.em.fork().count(StoredSecret, {})).toBe(0);
});

it('accepts a private url when WEBHOOK_ALLOW_PRIVATE=true', async () => {
  const open = await startTestApi(
    testConfig(db.url, {
      RATE_LIMIT_MAX: '1000',
      DATA_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      WEBHOOK_ALLOW_PRIVATE: 'true',
    }),
  );
  try {
    const res = await open.request('PUT', '/api/settings/webhook', {
      key: await open.key('admin'),
      body: { url: 'http://127.0.0.1:9000/hook', secret: SECRET },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ url: 'http://127.0.0.1:9000/hook', source: 'api' });
  } finally {
    await open.close();
  }
});

it('refuses to store a secret without DATA_ENCRYPTION_KEY, saying so, and stores nothing in clear', async () => {
  const bareAdmin = await bare.key('admin');
  const res = await bare.request('PUT', '/api/settings/webhook', {
    key: bareAdmin,
    body: { url: 'https://x.example.com', secret: SECRET },
  });
  expect(res.status).toBe(503);
  expect(res.body).toMatchObject({
    error: { code: 'encryption_not_configured', message: expect.stringMatching(/DATA_ENCRYPTION_KEY is not set/) },
  });
  expect(await bare.orm.em.fork().count(StoredSecret, {})).toBe(0);
  expect((await bare.request('GET', '/api/settings/webhook', { key: bareAdmin })).body).toMatchObject({
    source: 'env',
  });
});

it('says so when the stored settings were sealed under a key this server does not have', async () => {
  await api.request('PUT', '/api/settings/webhook', {
    key: admin,
    body: { url: 'https://x.example.com', secret: SECRET },
  });
  const bareAdmin = await bare.key('admin');
  const res = await bare.request('GET', '/api/settings/webhook', { key: bareAdmin });
  expect(res.status).toBe(503);
  expect(res.body).toMatchObject({ error: { code: 'secret_unreadable' } });
  expect(res.text).not.toContain(SECRET);
});
