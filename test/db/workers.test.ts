import { activityQueues, QUEUE_KINDS } from '../../src/contracts';
import { liveWorkers, registerWorker } from '../../src/db/workers';
import { useTestOrm } from '../helpers/database';

const bed = useTestOrm();

it('registers a worker polling every kind of a long task queue name (the comma list once overflowed varchar(100))', async () => {
  const queues = activityQueues(`${'deployment-eu-west-1-'.repeat(3)}lvlup`);
  const taskQueue = QUEUE_KINDS.map((kind) => queues[kind]).join(',');
  expect(taskQueue.length).toBeGreaterThan(100);
  const registration = await registerWorker(bed.orm, { identity: 'long-queue@test', taskQueue, sandbox: {} });
  try {
    expect((await liveWorkers(bed.orm)).find((w) => w.identity === 'long-queue@test')).toMatchObject({ taskQueue });
  } finally {
    await registration.stop();
  }
});
