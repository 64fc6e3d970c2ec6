import type { MikroORM } from '@mikro-orm/postgresql';
import { activityQueues, QUEUE_KINDS } from '../../src/contracts';
import { createOrm } from '../../src/db/orm';
import { liveWorkers, registerWorker } from '../../src/db/workers';
import { testConfig } from '../helpers/config';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

let db: TestDatabase;
let orm: MikroORM;

beforeAll(async () => {
  db = await createTestDatabase();
  orm = await createOrm(testConfig(db.url).database);
});
afterAll(async () => {
  await orm.close();
  await db.drop();
});

it('registers a worker polling every kind of a long task queue name (the comma list once overflowed varchar(100))', async () => {
  const queues = activityQueues(`${'deployment-eu-west-1-'.repeat(3)}lvlup`);
  const taskQueue = QUEUE_KINDS.map((kind) => queues[kind]).join(',');
  expect(taskQueue.length).toBeGreaterThan(100);
  const registration = await registerWorker(orm, { identity: 'long-queue@test', taskQueue, sandbox: {} });
  try {
    expect((await liveWorkers(orm)).find((w) => w.identity === 'long-queue@test')).toMatchObject({ taskQueue });
  } finally {
    await registration.stop();
  }
});
