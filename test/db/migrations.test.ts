import { MIGRATIONS } from '../../migrations';
import { createEmptyDatabase, type TestDatabase } from '../helpers/database';
import { createOrm, runMigrations } from '../../src/db/orm';
import { bootstrapAdminKey } from '../../src/auth/api-keys';
import { Agent, AgentSkillRating, ApiKey } from '../../src/db/entities';

let db: TestDatabase;
beforeAll(async () => {
  db = await createEmptyDatabase();
});
afterAll(() => db.drop());

it('migrates an empty database, seeds the four agents, and is then up to date with the entities', async () => {
  const orm = await createOrm({ url: db.url, poolSize: 2 });
  try {
    expect(await runMigrations(orm)).toEqual(MIGRATIONS.map((m) => m.name));
    expect(await runMigrations(orm)).toEqual([]);
    const em = orm.em.fork();
    const agents = await em.find(Agent, {}, { orderBy: { id: 'asc' } });
    expect(agents.map((a) => [a.id, a.status, a.level, a.xp])).toEqual([
      ['conquest', 'active', 1, 0],
      ['guardian', 'active', 1, 0],
      ['imperium', 'active', 1, 0],
      ['sandbox', 'active', 1, 0],
    ]);
    expect(await em.count(AgentSkillRating, { rating: 1200 })).toBe(12);
    // The committed snapshot matches the entities: no migration is missing.
    expect(await orm.getMigrator().checkMigrationNeeded()).toBe(false);
  } finally {
    await orm.close();
  }
});

it('stores ADMIN_API_KEY once, however often the system starts', async () => {
  const orm = await createOrm({ url: db.url, poolSize: 2 });
  try {
    const key = 'lvl_bootstrap_key_for_tests_0123456789';
    expect(await bootstrapAdminKey(orm.em.fork(), key)).toBe(true);
    expect(await bootstrapAdminKey(orm.em.fork(), key)).toBe(false);
    const stored = await orm.em.fork().find(ApiKey, { name: 'bootstrap-admin' });
    expect(stored.map((k) => k.role)).toEqual(['admin']);
    expect(stored[0]?.keyHash).not.toContain(key);
  } finally {
    await orm.close();
  }
});
