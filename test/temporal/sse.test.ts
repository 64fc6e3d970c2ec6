import { randomBytes, randomUUID } from 'node:crypto';
import type { WorkflowProgress } from '../../src/contracts';
import { workflowPollersRunning } from '../../src/api/routes/workflows/router';
import { startTestApi, type TestApi } from '../helpers/api';
import { testConfig } from '../helpers/config';
import { useLlmTestBed } from '../helpers/llm';
import { connectSse } from '../helpers/sse';
import { createTestWorker, type TestWorker } from '../helpers/worker';

const bed = useLlmTestBed();
const TASK_QUEUE = `sse-${randomBytes(4).toString('hex')}`;
const RUBRIC = [{ name: 'accuracy', weight: 1, description: 'Is it correct?' }];
// Each LLM call takes a while, so the exam spends several polls in each step.
const DELAY_MS = 700;
let api: TestApi;
let worker: TestWorker;
let viewer: string;
let operator: string;

beforeAll(async () => {
  const config = testConfig(
    bed.db.url,
    bed.fakes.env({
      LLM_PROFILE_FALLBACK: '',
      ANTHROPIC_API_KEY: '',
      TEMPORAL_TASK_QUEUE: TASK_QUEUE,
      RATE_LIMIT_MAX: '10000',
    }),
  );
  api = await startTestApi(config);
  worker = await createTestWorker(config, bed.orm, {
    workflowsPath: require.resolve('../../workflows'),
    taskQueue: TASK_QUEUE,
  });
  [viewer, operator] = await Promise.all([api.key('viewer'), api.key('operator', 'ops')]);
});
afterAll(async () => {
  await worker.close();
  await api.close();
});

interface Update {
  status: string;
  progress: WorkflowProgress | null;
}

it("streams a custody exam's progress over one connection, then its end with the terminal progress, then closes", async () => {
  bed.fakes.openai.when('rigorous examiner', (req) => ({
    json: {
      items: Array.from({ length: Number(/Write (\d+) exam item/.exec(req.prompt)?.[1] ?? 3) }, (_, i) => ({
        kind: 'open',
        prompt: `Question ${i} ${randomUUID()} about knowledge.`,
        rubric: RUBRIC,
      })),
    },
    delayMs: DELAY_MS,
  }));
  bed.fakes.openai.when('You are taking an exam', { text: 'An answer.', delayMs: DELAY_MS });
  bed.fakes.openai.when('strict, fair judge', {
    json: { criteria: [{ id: 'c1', score: 9, reason: 'right' }] },
    delayMs: DELAY_MS,
  });

  await worker.run(async () => {
    const started = await api.request('POST', '/api/custody/tests', { key: operator, body: { agentId: 'imperium' } });
    expect(started.status).toBe(202);
    const { workflowId } = started.body as { workflowId: string };

    const stream = await connectSse(`${api.url}/api/workflows/${workflowId}/events`, { key: viewer });
    expect(stream.status).toBe(200);
    // A second viewer of the same workflow: served by the same poll loop, not one of its own.
    const second = await connectSse(`${api.url}/api/workflows/${workflowId}/events`, { key: viewer });
    expect(second.status).toBe(200);
    expect(workflowPollersRunning()).toBe(1);
    const secondEvents: Array<{ event?: string; data: unknown }> = [];
    const secondDone = (async () => {
      for (let e = await second.nextEvent(30_000); e !== null; e = await second.nextEvent(30_000)) secondEvents.push(e);
    })();
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events: Array<{ event?: string; data: Update }> = [];
    for (let e = await stream.nextEvent(30_000); e !== null; e = await stream.nextEvent(30_000))
      events.push(e as { event?: string; data: Update });

    const progress = events.filter((e) => e.event === 'progress').map((e) => e.data);
    expect(events.map((e) => e.event)).toEqual([...progress.map(() => 'progress'), 'end']);
    expect(progress.every((p) => p.status === 'RUNNING')).toBe(true);
    const completed = progress.map((p) => p.progress?.completedSteps.length ?? 0);
    expect(completed).toEqual([...completed].sort((a, b) => a - b));
    expect(new Set(completed).size).toBeGreaterThanOrEqual(3);
    expect(progress.map((p) => p.progress?.step)).toEqual(expect.arrayContaining(['generate', 'answer', 'grade']));

    await secondDone;
    expect(secondEvents.at(-1)).toEqual(events.at(-1));
    expect(workflowPollersRunning()).toBe(0);
    const end = events.at(-1)?.data;
    expect(end).toEqual({
      status: 'COMPLETED',
      progress: {
        step: 'done',
        state: 'completed',
        completedSteps: ['plan', 'generate', 'answer', 'grade', 'score'],
        detail: expect.objectContaining({ status: 'passed' }),
      },
    });
    const status = await api.request('GET', `/api/workflows/${workflowId}`, { key: viewer });
    expect(status.body).toMatchObject({ status: 'COMPLETED', progress: end?.progress });

    // A workflow that has already ended: its end at once.
    const late = await connectSse(`${api.url}/api/workflows/${workflowId}/events`, { key: viewer });
    expect(await late.nextEvent()).toEqual({ event: 'end', data: end });
    expect(await late.nextEvent()).toBeNull();
  });
});

it('answers a JSON 404 for an unknown workflow and 401 without a key, before streaming', async () => {
  const unknown = await api.request('GET', `/api/workflows/no-such-workflow-${randomUUID()}/events`, { key: viewer });
  expect(unknown.status).toBe(404);
  expect(unknown.headers.get('content-type')).toMatch(/^application\/json/);
  expect(unknown.body).toEqual({
    error: { code: 'not_found', message: expect.stringMatching(/^workflow "no-such-workflow-.*" not found$/) },
  });
  const anonymous = await api.request('GET', '/api/workflows/anything/events');
  expect(anonymous.status).toBe(401);
});
