import { AuditLog } from '../../src/db/entities';
import { startTestApi, type TestApi } from '../helpers/api';
import { testConfig } from '../helpers/config';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

let db: TestDatabase;
let api: TestApi;
let admin: string;
let operator: string;

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApi(testConfig(db.url, { OPENAI_API_KEY: 'sk-test', RATE_LIMIT_MAX: '1000' }));
  admin = await api.key('admin', 'root-admin');
  operator = await api.key('operator');
});
afterAll(async () => {
  await api.close();
  await db.drop();
});

it('sets an agent’s own model (admin), shows it in GET /api/agents/:id, clears it, and audits both', async () => {
  const set = await api.request('PUT', '/api/agents/guardian/model', {
    key: admin,
    body: { provider: 'openai', model: 'llama3.1:8b' },
  });
  expect(set.status).toBe(200);
  expect(set.body).toMatchObject({ id: 'guardian', llmProfile: { provider: 'openai', model: 'llama3.1:8b' } });
  expect((await api.request('GET', '/api/agents/guardian', { key: operator })).body).toMatchObject({
    llmProfile: { provider: 'openai', model: 'llama3.1:8b' },
  });

  const cleared = await api.request('DELETE', '/api/agents/guardian/model', { key: admin });
  expect(cleared.body).toMatchObject({ llmProfile: { provider: null, model: null } });
  const audit = await api.orm.em
    .fork()
    .find(AuditLog, { target: { $like: 'agent:guardian:model=%' } }, { orderBy: { id: 'asc' } });
  expect(audit.map((a) => [a.action, a.target, a.actorName, a.status])).toEqual([
    ['PUT /api/agents/:id/model', 'agent:guardian:model=openai:llama3.1:8b', 'root-admin', 200],
    ['DELETE /api/agents/:id/model', 'agent:guardian:model=cleared', 'root-admin', 200],
  ]);
});

it('refuses a provider this server has not configured, a bad body, an unknown agent and a non-admin, changing nothing', async () => {
  const unconfigured = await api.request('PUT', '/api/agents/sandbox/model', {
    key: admin,
    body: { provider: 'anthropic', model: 'claude-3-5-haiku-latest' },
  });
  expect(unconfigured.status).toBe(400);
  expect(unconfigured.body).toEqual({
    error: { code: 'bad_request', message: 'the anthropic provider is not configured on this server' },
  });
  for (const body of [
    { provider: 'mistral', model: 'x' },
    { provider: 'openai', model: '' },
    { provider: 'openai', model: 'a b' },
    { provider: 'openai' },
  ]) {
    expect((await api.request('PUT', '/api/agents/sandbox/model', { key: admin, body })).status).toBe(400);
  }
  expect(
    (
      await api.request('PUT', '/api/agents/nobody/model', {
        key: admin,
        body: { provider: 'openai', model: 'gpt-4o' },
      })
    ).status,
  ).toBe(404);
  expect(
    (
      await api.request('PUT', '/api/agents/sandbox/model', {
        key: operator,
        body: { provider: 'openai', model: 'gpt-4o' },
      })
    ).status,
  ).toBe(403);
  expect((await api.request('GET', '/api/agents/sandbox', { key: operator })).body).toMatchObject({
    llmProfile: { provider: null, model: null },
  });
});
