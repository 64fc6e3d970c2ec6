import { randomBytes } from 'node:crypto';
import { loadEncryptionKeys } from '../../src/crypto/secrets';
import { AuditLog, StoredSecret } from '../../src/db/entities';
import { loadTargetCredentials, TARGET_CREDENTIALS_NAME } from '../../src/target/credentials-settings';
import { startTestApi, type TestApi } from '../helpers/api';
import { testConfig } from '../helpers/config';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

const TOKEN = 'glpat-Target-Token-Do-Not-Leak-9876';
const KEY = randomBytes(32).toString('hex');

let db: TestDatabase;
let api: TestApi;
let bare: TestApi;
let operator: string;
let admin: string;

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApi(testConfig(db.url, { RATE_LIMIT_MAX: '1000', DATA_ENCRYPTION_KEY: KEY }));
  bare = await startTestApi(testConfig(db.url, { RATE_LIMIT_MAX: '1000' }));
  [operator, admin] = await Promise.all([api.key('operator'), api.key('admin', 'creds-admin')]);
});
afterEach(() => api.orm.em.fork().nativeDelete(StoredSecret, {}));
afterAll(async () => {
  await bare.close();
  await api.close();
  await db.drop();
});

it('is for admins only', async () => {
  for (const method of ['GET', 'PUT', 'DELETE']) {
    const res = await api.request(method, '/api/settings/target-credentials', {
      key: operator,
      body: method === 'PUT' ? { token: TOKEN } : undefined,
    });
    expect(res.status).toBe(403);
  }
  expect(await api.orm.em.fork().count(StoredSecret, {})).toBe(0);
});

it('stores the token sealed, never returns it, audits the change, and hands it to git in clear only through the store', async () => {
  expect((await api.request('GET', '/api/settings/target-credentials', { key: admin })).body).toEqual({
    tokenSet: false,
    username: null,
    updatedAt: null,
    updatedBy: null,
  });
  const put = await api.request('PUT', '/api/settings/target-credentials', {
    key: admin,
    body: { token: TOKEN, username: 'ci-bot' },
  });
  expect(put.status).toBe(200);
  expect(put.body).toEqual({
    tokenSet: true,
    username: 'ci-bot',
    updatedAt: expect.any(String),
    updatedBy: 'creds-admin',
  });
  expect(put.text).not.toContain(TOKEN);
  const get = await api.request('GET', '/api/settings/target-credentials', { key: admin });
  expect(get.body).toEqual(put.body);

  const row = await api.orm.em.fork().findOneOrFail(StoredSecret, { name: TARGET_CREDENTIALS_NAME });
  expect(row.ciphertext).toMatch(/^v1:[0-9a-f]{16}:/);
  expect(row.ciphertext).not.toContain(TOKEN);
  expect(await loadTargetCredentials(api.orm.em.fork(), loadEncryptionKeys({ key: KEY, previousKeys: [] }))).toEqual({
    username: 'ci-bot',
    token: TOKEN,
  });

  const audits = await api.orm.em.fork().find(AuditLog, { target: 'settings:target-credentials' });
  expect(audits.map((a) => [a.method, a.actorName, a.status])).toEqual([['PUT', 'creds-admin', 200]]);
  expect(JSON.stringify(audits)).not.toContain(TOKEN);

  const del = await api.request('DELETE', '/api/settings/target-credentials', { key: admin });
  expect(del.body).toMatchObject({ tokenSet: false });
  expect(await api.orm.em.fork().count(StoredSecret, {})).toBe(0);
});

it('refuses a token or user name that could break the header, naming the field, and stores nothing', async () => {
  for (const [body, field] of [
    [{ token: 'abc\r\nX-Evil: 1' }, 'token'],
    [{ token: 'a b' }, 'token'],
    [{ token: TOKEN, username: 'a:b' }, 'username'],
    [{ token: TOKEN, extra: 1 }, '(body)'],
    [{}, 'token'],
  ] as const) {
    const res = await api.request('PUT', '/api/settings/target-credentials', { key: admin, body });
    expect(res.status).toBe(400);
    expect((res.body as { error: { details: Array<{ field: string }> } }).error.details[0]?.field).toBe(field);
    expect(res.text).not.toContain(TOKEN);
  }
  expect(await api.orm.em.fork().count(StoredSecret, {})).toBe(0);
});

it('refuses to store the token without DATA_ENCRYPTION_KEY', async () => {
  const res = await bare.request('PUT', '/api/settings/target-credentials', {
    key: await bare.key('admin'),
    body: { token: TOKEN },
  });
  expect(res.status).toBe(503);
  expect(res.body).toMatchObject({ error: { code: 'encryption_not_configured' } });
  expect(await bare.orm.em.fork().count(StoredSecret, {})).toBe(0);
});
