import type { MikroORM } from '@mikro-orm/postgresql';
import { Client, Connection } from '@temporalio/client';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { testConfig } from '../helpers/config';
import { createTestWorker } from '../helpers/worker';
import { createOrm } from '../../src/db/orm';
import { createLogger } from '../../src/logger';
import { syncSchedules } from '../../src/temporal/schedules';
import type { Config } from '../../src/config';

let db: TestDatabase;
let orm: MikroORM;
let config: Config;
beforeAll(async () => {
  db = await createTestDatabase();
  config = testConfig(db.url);
  orm = await createOrm(config.database);
});
afterAll(async () => {
  await orm.close();
  await db.drop();
});

it('runs a workflow on the shared dev server through a real worker and real activities', async () => {
  const worker = await createTestWorker(config, orm, {
    workflowsPath: require.resolve('../fixtures/harness.workflows'),
  });
  try {
    const start = (agentId: string) =>
      worker.client.workflow.execute('harnessProbeWorkflow', {
        args: [agentId],
        taskQueue: worker.taskQueue,
        workflowId: `harness-${agentId}-${worker.taskQueue}`,
      });
    const [snapshot, missing] = await worker.run(() =>
      Promise.all([start('guardian'), start('nobody').catch((err: unknown) => err)]),
    );
    expect(snapshot).toMatchObject({ id: 'guardian', status: 'active', level: 1 });
    // The activity's non-retryable AgentNotFound fails the workflow at once instead of retrying.
    expect(String((missing as { cause?: { cause?: unknown } }).cause?.cause)).toMatch(
      /AgentNotFound|no agent with id "nobody"/,
    );
  } finally {
    await worker.close();
  }
});

it('syncs schedules idempotently: a second sync updates instead of duplicating', async () => {
  const connection = await Connection.connect({ address: config.temporal.address ?? '' });
  const client = new Client({ connection });
  const logger = createLogger(config.log);
  const queue = `sched-${Date.now()}`;
  const id = `sched-${queue}`;
  const def = {
    id,
    workflowType: 'harnessProbeWorkflow',
    args: ['sandbox'],
    taskQueue: queue,
    intervalSeconds: 3600,
    workflowIdPrefix: `probe-${queue}`,
    note: 'test',
  };
  try {
    expect(await syncSchedules(client, [def], { catchupWindowSeconds: 60, logger })).toEqual({
      created: [id],
      updated: [],
    });
    expect(
      await syncSchedules(client, [{ ...def, intervalSeconds: 120 }], { catchupWindowSeconds: 60, logger }),
    ).toEqual({
      created: [],
      updated: [id],
    });
    const description = await client.schedule.getHandle(id).describe();
    expect(description.spec.intervals?.[0]?.every).toBe(120_000);
    expect(description.policies.overlap).toBe('SKIP');
  } finally {
    await client.schedule.getHandle(id).delete();
    await connection.close();
  }
});
