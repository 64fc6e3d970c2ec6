import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EntityManager } from '@mikro-orm/postgresql';
import { WorkflowFailedError } from '@temporalio/client';
import {
  CUSTODY_EXAM_WORKFLOW,
  custodyWorkflowId,
  type CustodyExamInput,
  type CustodyExamResult,
} from '../../src/contracts';
import { storeExamPlan } from '../../src/db/exam-plan';
import { DEFAULT_RULES } from '../../src/domain/rules';
import { Agent, Exam, ExamItem, SkillRatingEvent, TokenUsageEvent } from '../../src/db/entities';
import type { AgentId } from '../../src/domain/agents';
import type { FakeReply, FakeRequest } from '../fakes/llm-servers';
import { testConfig } from '../helpers/config';
import { EXAM_PROMPTS, judgeReply, openItem } from '../helpers/custody';
import { recordHistory } from '../helpers/histories';
import { useLlmTestBed } from '../helpers/llm';
import { createTestWorker, type TestWorker } from '../helpers/worker';

/**
 * A fault is never scored as the agent's failure (issue 14): the exam's time limit measures the agent's answering,
 * not an outage; an exam that cannot be completed for infrastructure reasons ends `error` and applies nothing.
 */
const WORKFLOWS = require.resolve('../../workflows');
// A 1 s heartbeat timeout: a worker that stops heartbeating is given up after 1 s and its activity retried elsewhere.
const TIMEOUTS = { llmMs: 8000, sandboxMs: 15000, dbMs: 5000, heartbeatMs: 1000 };
const bed = useLlmTestBed();
const em = () => bed.orm.em.fork() as EntityManager;
const config = () => testConfig(bed.db.url, bed.fakes.env({ LLM_PROFILE_FALLBACK: '', ANTHROPIC_API_KEY: '' }));

const { examiner: EXAMINER, answering: ANSWERING, judge: JUDGE } = EXAM_PROMPTS;

/**
 * Three open items; the judge scores 9 per criterion; `answer` decides how the agent's model answers each. The
 * provider answers requests marked `down` with a 503 after 1.5 s (a provider failing slowly), retry-after 0.2 s.
 */
function script(opts: { answer?: (req: FakeRequest) => FakeReply; down?: string } = {}): void {
  const { answer = () => ({ text: 'A careful, complete answer.' }), down } = opts;
  bed.fakes.reset();
  if (down !== undefined)
    bed.fakes.openai.when(down, { status: 503, retryAfter: 0.2, message: 'provider down', delayMs: 1500 });
  bed.fakes.openai.when(EXAMINER, { json: { items: Array.from({ length: 3 }, (_, i) => openItem(i)) } });
  bed.fakes.openai.when(ANSWERING, answer);
  bed.fakes.openai.when(JUDGE, judgeReply(9));
}

const START = {
  xp: 80,
  level: 1,
  examsTaken: 2,
  examsPassed: 2,
  examsFailed: 0,
  consecutivePasses: 2,
  consecutiveFailures: 0,
};

async function resetAgent(id: AgentId): Promise<void> {
  await em().execute('delete from exam_items where exam_id in (select id from exams where agent_id = ?)', [id]);
  await em().execute('delete from skill_rating_events where agent_id = ?', [id]);
  await em().execute('delete from exams where agent_id = ?', [id]);
  await em().nativeUpdate(
    Agent,
    { id },
    { ...START, lastPassedAt: new Date(Date.now() - 3_600_000), levelHoldReason: null, status: 'active' },
  );
}

/**
 * Stores the exam as the API does before starting its workflow (the workflow's plan step finds the row), with a time
 * limit of `timeLimitSeconds` instead of its difficulty's 300 s, and starts the workflow on `worker`'s task queue.
 */
async function startShortExam(worker: TestWorker, agentId: AgentId, timeLimitSeconds: number): Promise<string> {
  const workflowId = custodyWorkflowId(agentId, randomUUID());
  const input: CustodyExamInput = { agentId, trigger: 'api', timeouts: TIMEOUTS };
  const stored = await storeExamPlan(em(), { ...input, examId: randomUUID(), workflowId }, DEFAULT_RULES);
  if ('refused' in stored) throw new Error(stored.message);
  await em().nativeUpdate(Exam, { id: stored.id }, { timeLimitSeconds });
  await worker.client.workflow.start(CUSTODY_EXAM_WORKFLOW, { args: [input], taskQueue: worker.taskQueue, workflowId });
  return workflowId;
}

async function runShortExam(
  agentId: AgentId,
  timeLimitSeconds: number,
): Promise<{ exam: Exam; result: CustodyExamResult | Error }> {
  const worker = await createTestWorker(config(), bed.orm, { workflowsPath: WORKFLOWS });
  try {
    const result = await worker.run(async () => {
      const workflowId = await startShortExam(worker, agentId, timeLimitSeconds);
      return worker.client.workflow
        .getHandle(workflowId)
        .result()
        .catch((err: Error) => err);
    });
    return { exam: await em().findOneOrFail(Exam, { agentId }), result };
  } finally {
    await worker.close();
  }
}

async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const items = (examId: string) => em().find(ExamItem, { examId }, { orderBy: { position: 'asc' } });
const answering = () => bed.fakes.openai.requests.filter((r) => r.prompt.includes(ANSWERING));

it('gives the agent its whole time limit again after its worker dies mid-answer: an outage longer than the limit is not scored', async () => {
  await resetAgent('imperium');
  script();
  // The first worker dies while the three answers are out: its answer attempts never complete and never heartbeat.
  let started = 0;
  let crash = (): void => undefined;
  const dead = new Promise<never>(
    (_resolve, reject) => (crash = () => reject(new Error('the worker process is gone'))),
  );
  const first = await createTestWorker(config(), bed.orm, {
    workflowsPath: WORKFLOWS,
    faults: {
      custodyAnswerItem: () => {
        started++;
        return dead;
      },
    },
  });
  const workflowId = await startShortExam(first, 'imperium', 3);
  first.start();
  await until('the three answer attempts on the first worker', () => started === 3);
  const stopped = first.close();
  // The outage (no worker polling) lasts twice the 3 s time limit.
  await sleep(6000);

  const second = await createTestWorker(config(), bed.orm, { workflowsPath: WORKFLOWS, taskQueue: first.taskQueue });
  try {
    const result = await second.run(() => second.client.workflow.getHandle(workflowId).result());
    expect(result).toMatchObject({ status: 'passed', score: 90 });
  } finally {
    crash();
    await Promise.all([second.close(), stopped]);
  }
  const exam = await em().findOneOrFail(Exam, { workflowId });
  for (const item of await items(exam.id)) {
    expect(item).toMatchObject({ answer: 'A careful, complete answer.', answerTimedOutAt: null });
    expect(item.answerMs).toBeLessThan(3000);
  }
  // Answered by the retries (attempt 2) on the live worker, once each.
  const rows = await em().find(TokenUsageEvent, { workflowId, purpose: 'exam.answer' });
  expect(rows.map((r) => [r.outcome, r.attempt])).toEqual([
    ['ok', 2],
    ['ok', 2],
    ['ok', 2],
  ]);
  expect(await em().findOneOrFail(Agent, { id: 'imperium' })).toMatchObject({ examsTaken: 3, examsPassed: 3, xp: 130 });
  await recordHistory(workflowId, 'custody-exam-worker-died-mid-answer');
}, 60_000);

it("scores an item the agent's model did not answer within the time limit as 0: its own failure, the call cut at the limit", async () => {
  await resetAgent('imperium');
  script({
    answer: (req) =>
      req.prompt.includes('concept number 0')
        ? { text: 'A late answer.', delayMs: 8000 }
        : { text: 'A careful, complete answer.' },
  });
  const { exam, result } = await runShortExam('imperium', 2);
  // (0 + 90 + 90) / 3 = 60 < 70: failed, counted against the agent.
  expect(result).toMatchObject({ status: 'failed', score: 60 });
  const [late, ...answered] = await items(exam.id);
  expect(late).toMatchObject({ answer: null, answeredAt: null, grading: { score: 0 } });
  expect(late?.answerTimedOutAt).toBeInstanceOf(Date);
  expect(late?.answerMs).toBeGreaterThanOrEqual(2000);
  expect(late?.answerMs).toBeLessThan(4000);
  expect(late?.grading?.runs[0]?.criteria).toEqual([
    { name: 'time limit', weight: 1, score: 0, reason: 'not answered within the time limit' },
  ]);
  for (const item of answered)
    expect(item).toMatchObject({ answer: 'A careful, complete answer.', grading: { score: 90 } });
  // One request for the slow item, aborted at the limit (not left running, not retried); the judge never saw it.
  const slow = answering().filter((r) => r.prompt.includes('concept number 0'));
  expect(slow).toHaveLength(1);
  expect((slow[0]?.abortedAt ?? Infinity) - (slow[0]?.receivedAt ?? 0)).toBeLessThan(3000);
  expect(bed.fakes.openai.requests.filter((r) => r.prompt.includes(JUDGE))).toHaveLength(2);
  const rows = await em().find(TokenUsageEvent, { workflowId: exam.workflowId, purpose: 'exam.answer' });
  expect(rows.map((r) => r.outcome).sort()).toEqual(['aborted', 'ok', 'ok']);
  expect(exam.steps.map((s) => s.detail)).toContain('item 1 not answered within the time limit (2 s)');
  expect(await em().findOneOrFail(Agent, { id: 'imperium' })).toMatchObject({
    examsTaken: 3,
    examsFailed: 1,
    consecutiveFailures: 1,
    xp: 81,
  });
}, 60_000);

it.each([
  ['answering', ANSWERING],
  ['grading', JUDGE],
])(
  'ends the exam error and applies nothing when the provider fails every attempt while %s, for longer than the time limit',
  async (_step, marker) => {
    await resetAgent('imperium');
    // Six attempts of 1.5 s each: the outage outlasts the 2 s time limit, which runs out during an attempt.
    script({ down: marker });
    const before = await em().findOneOrFail(Agent, { id: 'imperium' });
    const { exam, result } = await runShortExam('imperium', 2);
    expect(result).toBeInstanceOf(WorkflowFailedError);
    expect(exam).toMatchObject({ status: 'error', score: null, outcome: null });
    expect(exam.error).toMatch(/LlmProviderUnavailable: .*503/);
    expect(bed.fakes.openai.requests.filter((r) => r.prompt.includes(marker)).length).toBeGreaterThanOrEqual(6);
    const after = await em().findOneOrFail(Agent, { id: 'imperium' });
    expect(after).toMatchObject({ ...START, level: before.level });
    expect(after.lastPassedAt).toEqual(before.lastPassedAt);
    expect(await em().count(SkillRatingEvent, { examId: exam.id })).toBe(0);
  },
  60_000,
);
