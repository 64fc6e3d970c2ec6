import { randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import {
  CUSTODY_EXAM_WORKFLOW,
  custodyWorkflowId,
  type CustodyExamInput,
  type CustodyExamResult,
  type QueueKind,
} from '../../src/contracts';
import { Agent, ExamItem } from '../../src/db/entities';
import { createLogger } from '../../src/logger';
import { createMetrics } from '../../src/metrics';
import { workerDependencies } from '../../src/temporal/worker-deps';
import { testConfig } from '../helpers/config';
import { recordHistory } from '../helpers/histories';
import { useLlmTestBed } from '../helpers/llm';
import { createTestWorker, type TestWorker } from '../helpers/worker';

const WORKFLOWS = require.resolve('../../workflows');
const bed = useLlmTestBed();
const em = () => bed.orm.em.fork() as EntityManager;
const config = () => testConfig(bed.db.url, bed.fakes.env({ LLM_PROFILE_FALLBACK: '', ANTHROPIC_API_KEY: '' }));

const codeItem = () => ({
  kind: 'code',
  prompt: `Write a JavaScript function add(a, b) that returns the sum of two numbers (${randomUUID()}).`,
  functionName: 'add',
  tests: [
    { args: [1, 2], expected: 3 },
    { args: [2, 2], expected: 4 },
  ],
});
const openItem = () => ({
  kind: 'open',
  prompt: `Explain one concept of this test run ${randomUUID()} in detail.`,
  rubric: [{ name: 'accuracy', weight: 1, description: 'Is it correct?' }],
});

/** The fake examiner writes two code items and one open one; every answer is right and every criterion scores 9. */
function scriptExam(): void {
  bed.fakes.reset();
  bed.fakes.openai.when('rigorous examiner', { json: { items: [codeItem(), codeItem(), openItem()] } });
  bed.fakes.openai.when('You are taking an exam', (req) =>
    req.schema === undefined
      ? { text: 'A careful answer.' }
      : { json: { code: 'function add(a, b) { return a + b; }' } },
  );
  bed.fakes.openai.when('strict, fair judge', { json: { criteria: [{ id: 'c1', score: 9, reason: 'right' }] } });
}

/** Starts each worker, runs a code_quality exam for Guardian on `taskQueue`, reads its activities, and stops the workers. */
async function runExam(
  workers: TestWorker[],
  taskQueue: string,
): Promise<{ result: CustodyExamResult; activities: ScheduledActivity[]; workflowId: string }> {
  await em().execute("delete from exam_items where exam_id in (select id from exams where agent_id = 'guardian')");
  await em().execute("delete from exams where agent_id = 'guardian'");
  await em().nativeUpdate(Agent, { id: 'guardian' }, { status: 'active', consecutiveFailures: 0 });
  scriptExam();
  const client = workers[0]?.client as Client;
  const workflowId = custodyWorkflowId('guardian', randomUUID());
  const input: CustodyExamInput = {
    agentId: 'guardian',
    category: 'code_quality',
    trigger: 'api',
    timeouts: { llmMs: 8000, sandboxMs: 15000, dbMs: 5000 },
  };
  for (const w of workers) w.start();
  try {
    // Bounded: with a step on a queue nobody polls, the exam fails here instead of hanging the test.
    const result: CustodyExamResult = await client.workflow.execute(CUSTODY_EXAM_WORKFLOW, {
      args: [input],
      taskQueue,
      workflowId,
      workflowExecutionTimeout: '40 seconds',
    });
    return { result, activities: await scheduledActivities(client, workflowId), workflowId };
  } finally {
    for (const w of workers) await w.close();
  }
}

interface ScheduledActivity {
  type: string;
  queue: string;
  args: unknown[];
  startedMs?: number;
  closedMs?: number;
}

/** Each scheduled activity of the workflow's history with the task queue it was scheduled on and when it ran. */
async function scheduledActivities(client: Client, workflowId: string): Promise<ScheduledActivity[]> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const scheduled = new Map<number, ScheduledActivity>();
  const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
    Number(t?.seconds ?? 0) * 1000 + Math.round((t?.nanos ?? 0) / 1e6);
  for (const e of events) {
    const id = Number(e.eventId);
    const s = e.activityTaskScheduledEventAttributes;
    if (s) {
      const args = (s.input?.payloads ?? []).map(
        (p) => JSON.parse(Buffer.from(p.data ?? new Uint8Array()).toString()) as unknown,
      );
      scheduled.set(id, { type: s.activityType?.name ?? '', queue: s.taskQueue?.name ?? '', args });
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) Object.assign(scheduled.get(Number(started.scheduledEventId)) ?? {}, { startedMs: ms(e.eventTime) });
    const completed = e.activityTaskCompletedEventAttributes;
    if (completed)
      Object.assign(scheduled.get(Number(completed.scheduledEventId)) ?? {}, { closedMs: ms(e.eventTime) });
  }
  return [...scheduled.values()];
}

const newQueue = () => `test-${randomBytes(4).toString('hex')}`;
const worker = (taskQueue: string, queues: QueueKind[], concurrency?: Partial<Record<QueueKind, number>>) =>
  createTestWorker(config(), bed.orm, { workflowsPath: WORKFLOWS, taskQueue, queues, concurrency });

it('completes an exam with one worker per kind: each step runs on the queue of its kind, grading by item kind', async () => {
  const taskQueue = newQueue();
  const workers = [
    await worker(taskQueue, ['workflows']),
    await worker(taskQueue, ['llm']),
    await worker(taskQueue, ['sandbox']),
  ];
  const { result, activities, workflowId } = await runExam(workers, taskQueue);
  expect(result).toMatchObject({ status: 'passed' });
  await recordHistory(workflowId, 'custody-exam-by-queue-kind');

  const items = await em().find(ExamItem, { examId: result.examId }, { orderBy: { position: 'asc' } });
  const kindAt = (position: unknown) => items[Number(position)]?.kind;
  const routed = activities.map((a) => ({
    activity: a.type === 'custodyGradeItem' ? `custodyGradeItem(${kindAt(a.args[1])})` : a.type,
    queue: a.queue.replace(taskQueue, '<queue>'),
  }));
  expect(new Set(routed.map((r) => `${r.activity} → ${r.queue}`))).toEqual(
    new Set([
      'custodyPlan → <queue>',
      'custodyGenerateItems → <queue>-llm',
      'custodyAnswerItem → <queue>-llm',
      'custodyGradeItem(code) → <queue>-sandbox',
      'custodyGradeItem(open) → <queue>-llm',
      'custodyFinish → <queue>',
    ]),
  );
});

it('holds the sandbox concurrency cap: with 1 slot the two code items are graded one after the other, with 2 at once', async () => {
  const overlaps = async (slots: number) => {
    const taskQueue = newQueue();
    const { result, activities } = await runExam(
      [await worker(taskQueue, ['workflows', 'llm']), await worker(taskQueue, ['sandbox'], { sandbox: slots })],
      taskQueue,
    );
    expect(result).toMatchObject({ status: 'passed' });
    const runs = activities.filter((a) => a.queue === `${taskQueue}-sandbox`);
    expect(runs).toHaveLength(2);
    const [a, b] = runs.map((r) => ({ start: r.startedMs ?? 0, end: r.closedMs ?? 0 }));
    return a !== undefined && b !== undefined && a.start < b.end && b.start < a.end;
  };
  expect(await overlaps(1)).toBe(false);
  // The control: the same exam with two slots grades both code items at once, so the check above can fail.
  expect(await overlaps(2)).toBe(true);
});

it('starts an LLM-only or workflows-only worker where isolation is required and bwrap is missing; a sandbox worker refuses', async () => {
  const strict = testConfig(bed.db.url, {
    SANDBOX_REQUIRE_ISOLATION: 'true',
    SANDBOX_BWRAP_PATH: '/nonexistent/bwrap',
  });
  const deps = { config: strict, orm: bed.orm, logger: createLogger(strict.log), metrics: createMetrics() };
  for (const kinds of [['llm'], ['workflows']] as QueueKind[][]) {
    const { sandbox, hasSandbox } = await workerDependencies(deps, kinds);
    expect(hasSandbox).toBe(false);
    expect(() => sandbox.isolation).toThrow(/does not poll the sandbox queue/);
  }
  await expect(workerDependencies(deps, ['sandbox'])).rejects.toMatchObject({ type: 'SandboxUnavailable' });
});
