import {
  WorkflowWatchers,
  type WorkflowSubscriber,
  type WorkflowUpdate,
} from '../../src/api/routes/workflows/watchers';
import { createLogger } from '../../src/logger';

const POLL_MS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fake Temporal: the status and progress of each workflow, and how often each was read. */
function fakeTemporal() {
  const state = new Map<string, { status: string; progress: { step: string } | null }>();
  const reads = new Map<string, number>();
  const watchers = new WorkflowWatchers<{ step: string }>({
    read: async (id) => {
      reads.set(id, (reads.get(id) ?? 0) + 1);
      await sleep(1);
      return state.get(id) ?? { status: 'RUNNING', progress: null };
    },
    terminal: (status) => status !== 'RUNNING',
    pollMs: POLL_MS,
    logger: createLogger({ level: 'error', format: 'json' }),
  });
  return { state, reads, watchers };
}

function recorder() {
  const events: Array<{ event: 'progress' | 'end'; update: WorkflowUpdate<{ step: string }> }> = [];
  const subscriber: WorkflowSubscriber<{ step: string }> = {
    progress: (update) => events.push({ event: 'progress', update }),
    end: (update) => events.push({ event: 'end', update }),
  };
  return { events, subscriber };
}

it('polls a workflow once per tick however many streams follow it, and stops when the last one leaves', async () => {
  const { state, reads, watchers } = fakeTemporal();
  state.set('wf-1', { status: 'RUNNING', progress: { step: 'plan' } });
  const one = recorder();
  const two = recorder();
  const leaveOne = watchers.subscribe('wf-1', one.subscriber);
  const leaveTwo = watchers.subscribe('wf-1', two.subscriber);
  expect(watchers.running).toBe(1);

  await sleep(POLL_MS * 10);
  const polled = reads.get('wf-1') ?? 0;
  // One loop: about one read per tick (10 ticks), not one per stream (20).
  expect(polled).toBeGreaterThanOrEqual(3);
  expect(polled).toBeLessThanOrEqual(11);
  expect(one.events).toEqual([{ event: 'progress', update: { status: 'RUNNING', progress: { step: 'plan' } } }]);
  expect(two.events).toEqual(one.events);

  state.set('wf-1', { status: 'RUNNING', progress: { step: 'answer' } });
  await sleep(POLL_MS * 3);
  expect(two.events.map((e) => e.update.progress?.step)).toEqual(['plan', 'answer']);

  leaveOne();
  expect(watchers.running).toBe(1);
  leaveTwo();
  expect(watchers.running).toBe(0);
  const atStop = reads.get('wf-1');
  await sleep(POLL_MS * 5);
  expect(reads.get('wf-1')).toBe(atStop);
});

it('gives a stream that joins a running loop the latest state at once, and ends every stream when the workflow ends', async () => {
  const { state, reads, watchers } = fakeTemporal();
  state.set('wf-2', { status: 'RUNNING', progress: { step: 'grade' } });
  const early = recorder();
  watchers.subscribe('wf-2', early.subscriber);
  await sleep(POLL_MS * 2);
  const late = recorder();
  watchers.subscribe('wf-2', late.subscriber);
  expect(late.events).toEqual([{ event: 'progress', update: { status: 'RUNNING', progress: { step: 'grade' } } }]);

  // The workflow ends; its last query fails (no worker), so the last progress known goes with the end.
  state.set('wf-2', { status: 'COMPLETED', progress: null });
  await sleep(POLL_MS * 3);
  for (const r of [early, late])
    expect(r.events.at(-1)).toEqual({ event: 'end', update: { status: 'COMPLETED', progress: { step: 'grade' } } });
  expect(watchers.running).toBe(0);
  const atEnd = reads.get('wf-2');
  await sleep(POLL_MS * 3);
  expect(reads.get('wf-2')).toBe(atEnd);
});

it('keeps one loop per workflow id', async () => {
  const { reads, watchers } = fakeTemporal();
  const leave = [
    watchers.subscribe('a', recorder().subscriber),
    watchers.subscribe('b', recorder().subscriber),
    watchers.subscribe('a', recorder().subscriber),
  ];
  expect(watchers.running).toBe(2);
  await sleep(POLL_MS * 5);
  expect(reads.get('a')).toBeLessThanOrEqual(6);
  leave.forEach((l) => l());
  expect(watchers.running).toBe(0);
});

it('has one read in flight for a workflow followed by several streams', async () => {
  let inFlight = 0;
  let most = 0;
  const gates: Array<() => void> = [];
  const watchers = new WorkflowWatchers<{ step: string }>({
    read: async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise<void>((resolve) => gates.push(resolve));
      inFlight--;
      return { status: 'RUNNING', progress: { step: 'plan' } };
    },
    terminal: () => false,
    pollMs: 1,
    logger: createLogger({ level: 'error', format: 'json' }),
  });
  const leave = [1, 2, 3].map(() => watchers.subscribe('wf-3', recorder().subscriber));
  for (let round = 0; round < 5; round++) {
    await sleep(10);
    gates.splice(0).forEach((open) => open());
  }
  expect(most).toBe(1);
  leave.forEach((l) => l());
  gates.splice(0).forEach((open) => open());
});
