import { activityQueues } from '../../src/contracts/task-queues';
import { liveWorkers, registerWorker } from '../../src/db/workers';
import { useTestOrm } from '../helpers/database';

const orm = useTestOrm();

it('registers a worker polling every kind of a long-named task queue (the comma list is not cut to 100 characters)', async () => {
  const base = `lvlup-production-eu-west-1-${'x'.repeat(40)}`;
  const taskQueue = Object.values(activityQueues(base)).join(',');
  expect(taskQueue.length).toBeGreaterThan(100);
  const registration = await registerWorker(orm(), { identity: 'long-queue@test', taskQueue, sandbox: {} });
  try {
    const [worker] = (await liveWorkers(orm())).filter((w) => w.identity === 'long-queue@test');
    expect(worker?.queues).toEqual(taskQueue.split(','));
  } finally {
    await registration.stop();
  }
});
