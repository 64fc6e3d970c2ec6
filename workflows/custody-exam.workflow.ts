import {
  ActivityFailure,
  CancellationScope,
  patched,
  setHandler,
  TimeoutFailure,
  uuid4,
  workflowInfo,
  type RetryPolicy,
} from '@temporalio/workflow';
import { CANCELLED_REASON, describeFailure, endIfCancelled } from './failures';
import {
  progressQuery,
  type CustodyExamInput,
  type CustodyExamResult,
  type ExamPlan,
  type WorkflowProgress,
} from '../src/contracts';
import { examScore, isBorderline } from '../src/domain/custody';
import { proxyByKind } from './queues';

/**
 * The custody protocol (ARCHITECTURE §3.1): plan → generate items → answer → grade → (borderline) re-judge → score.
 * Every step is an idempotent activity keyed on the exam's stored state, so a worker crash anywhere resumes without
 * duplicate rows or a second LLM charge. An exam that cannot finish is recorded as `error` and the workflow fails.
 */
export async function custodyExamWorkflow(input: CustodyExamInput): Promise<CustodyExamResult> {
  const t = { llmMs: 300_000, sandboxMs: 120_000, dbMs: 30_000, ...input.timeouts };
  const db = proxyByKind({ startToCloseTimeout: t.dbMs, retry: { maximumAttempts: 10 } });
  // No heartbeat timeout unless the starter gave one (histories recorded before heartbeats replay unchanged).
  const hb = t.heartbeatMs === undefined ? {} : { heartbeatTimeout: t.heartbeatMs };
  const llm = proxyByKind({
    startToCloseTimeout: t.llmMs,
    ...hb,
    retry: { initialInterval: '2 seconds', maximumAttempts: 6 },
  });
  // Grading goes by item: a code item's hidden tests to the sandbox queue, an open item's judge to the LLM queue.
  const grader = (itemKind?: string) =>
    proxyByKind(
      {
        startToCloseTimeout: t.llmMs + t.sandboxMs,
        ...hb,
        retry: { initialInterval: '2 seconds', maximumAttempts: 6 },
      },
      itemKind,
    );

  const progress: WorkflowProgress = {
    step: 'plan',
    state: 'running',
    completedSteps: [],
    detail: { agentId: input.agentId },
  };
  setHandler(progressQuery, () => progress);
  const enter = (step: string, detail?: Record<string, unknown>) => {
    progress.completedSteps.push(progress.step);
    progress.step = step;
    if (detail) progress.detail = { ...progress.detail, ...detail };
  };

  const planInput = { ...input, examId: uuid4(), workflowId: workflowInfo().workflowId };
  // A cancel that comes while the plan is stored waits for it, then ends the stored row (the API's or this one's) as
  // cancelled below. Before the patch the workflow stopped at once and the row stayed running until the reconciler.
  const plan = patched('ends-exam-cancelled-in-plan')
    ? await CancellationScope.nonCancellable(() => db.custodyPlan(planInput))
    : await db.custodyPlan(planInput);
  progress.detail = {
    ...progress.detail,
    examId: plan.examId,
    category: plan.category,
    difficulty: plan.difficulty,
    olympus: plan.olympus,
  };
  if (plan.skipped) {
    enter('done');
    progress.state = 'completed';
    return { examId: plan.examId, status: 'skipped', score: null, reason: plan.skipReason };
  }

  try {
    enter('generate');
    const { itemCount, kinds } = await llm.custodyGenerateItems(plan.examId);
    const positions = Array.from({ length: itemCount }, (_, i) => i);

    enter('answer', { itemCount });
    await answerItems(plan, positions, t, hb);

    enter('grade');
    let scores = (await Promise.all(positions.map((p) => grader(kinds?.[p]).custodyGradeItem(plan.examId, p, 1)))).map(
      (g) => g.score,
    );
    // The margin the exam was planned under; a plan recorded before plans carried one gets the default (5).
    if (isBorderline(examScore(scores), plan.passMark, plan.borderlineMargin)) {
      enter('rejudge', { provisionalScore: examScore(scores) });
      for (const run of [2, 3]) {
        scores = (
          await Promise.all(positions.map((p) => grader(kinds?.[p]).custodyGradeItem(plan.examId, p, run)))
        ).map((g) => g.score);
      }
    }

    enter('score');
    const result = await db.custodyFinish(plan.examId);
    enter('done', { status: result.status, score: result.score });
    progress.state = 'completed';
    return result;
  } catch (err) {
    progress.state = 'failed';
    // A cancelled exam is no verdict on the agent: it ends `cancelled`, applies nothing and frees the agent at once.
    if (await endIfCancelled(err, () => db.custodyCancel(plan.examId, CANCELLED_REASON))) throw err;
    await db.custodyRecordFailure(plan.examId, describeFailure(err));
    throw err;
  }
}

/**
 * Step 4: every item answered in parallel. The time limit measures the agent's answering, not an outage: the answer
 * activity gives the agent's model the exam's time limit from the start of each attempt and stores an item it did not
 * answer in time as such (scored 0, the agent's own failure). An attempt lost to a crash stored nothing, so its retry —
 * on a live worker once the heartbeat timeout notices the dead one — gets the whole time limit again; an item that
 * cannot be answered at all (retries exhausted: a provider down, every attempt lost) fails the exam as `error`.
 * Before the patch a schedule-to-close window of the time limit ran from the start of answering, an outage used it up
 * and its timed-out items scored 0 (and before the older patch it was capped at 6 LLM activity timeouts).
 */
async function answerItems(
  plan: ExamPlan,
  positions: number[],
  t: { llmMs: number; dbMs: number },
  hb: { heartbeatTimeout?: number },
): Promise<void> {
  const timeLimitMs = plan.timeLimitSeconds * 1000;
  const retry: RetryPolicy = { initialInterval: '2 seconds', maximumAttempts: 6 };
  if (patched('custody-answer-clock-is-the-agent')) {
    // An attempt: the reads and the write around the call (a DB step's time) and the call, cut at the time limit.
    const answerer = proxyByKind({ startToCloseTimeout: timeLimitMs + t.dbMs, ...hb, retry });
    const answers = await Promise.allSettled(positions.map((p) => answerer.custodyAnswerItem(plan.examId, p)));
    for (const a of answers) if (a.status === 'rejected') throw a.reason;
    return;
  }
  const window = patched('custody-answer-window-is-the-time-limit') ? timeLimitMs : Math.min(timeLimitMs, t.llmMs * 6);
  const answerer = proxyByKind({ startToCloseTimeout: t.llmMs, ...hb, scheduleToCloseTimeout: window, retry });
  const answers = await Promise.allSettled(positions.map((p) => answerer.custodyAnswerItem(plan.examId, p)));
  for (const a of answers) if (a.status === 'rejected' && !timedOut(a.reason)) throw a.reason;
}

function timedOut(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof TimeoutFailure;
}
