import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { startTestApi, type TestApi } from '../helpers/api';
import { testConfig } from '../helpers/config';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

let db: TestDatabase;
let api: TestApi;
let viewer: string;

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApi(testConfig(db.url, { RATE_LIMIT_MAX: '10000' }));
  viewer = await api.key('viewer');
  const note = (agent: string, title: string, body: string) =>
    (api.orm.em.fork() as EntityManager).execute(
      `insert into knowledge_notes (id, agent_id, category, title, body, sources, created_at) values (?, ?, null, ?, ?, '[{"kind":"scan","ref":"r1"}]', now())`,
      [randomUUID(), agent, title, body],
    );
  await note('guardian', 'Parameterized queries', 'Never build SQL by string concatenation; bind parameters instead.');
  await note('guardian', 'Secrets in code', 'Move credentials out of the repository into the environment.');
  await note(
    'conquest',
    'Use a Map for duplicate counting',
    'A nested loop over the array is quadratic; a Map makes it linear.',
  );
});
afterAll(async () => {
  await api.close();
  await db.drop();
});

it('searches knowledge notes by words, ranked, and filters by agent', async () => {
  const res = await api.request('GET', '/api/imperium/knowledge?q=sql%20concatenation', { key: viewer });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({
    items: [{ agentId: 'guardian', title: 'Parameterized queries', sources: [{ kind: 'scan' }] }],
    page: { total: 1 },
  });
  const conquest = await api.request('GET', '/api/imperium/knowledge?agent=conquest', { key: viewer });
  expect(conquest.body).toMatchObject({
    items: [{ title: 'Use a Map for duplicate counting', rank: null }],
    page: { total: 1 },
  });
  const all = await api.request('GET', '/api/imperium/knowledge?limit=2', { key: viewer });
  expect(all.body).toMatchObject({ page: { total: 3, limit: 2 } });
  expect((all.body as { items: unknown[] }).items).toHaveLength(2);
  expect((await api.request('GET', '/api/imperium/knowledge?agent=nobody', { key: viewer })).status).toBe(400);
});
