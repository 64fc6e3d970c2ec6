import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { testConfig } from '../helpers/config';
import { startTestApi, type TestApi } from '../helpers/api';

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
