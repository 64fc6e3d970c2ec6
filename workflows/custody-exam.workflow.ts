import { ActivityFailure, patched, setHandler, TimeoutFailure, uuid4, workflowInfo } from '@temporalio/workflow';
import { CANCELLED_REASON, describeFailure, endIfCancelled } from './failures';
import { progressQuery, type CustodyExamInput, type CustodyExamResult, type WorkflowProgress } from '../src/contracts';
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
  const llm = proxyByKind({ startToCloseTimeout: t.llmMs, ...hb, retry: { initialInterval: '2 seconds', maximumAttempts: 6 } });
  // Grading goes by item: a code item's hidden tests to the sandbox queue, an open item's judge to the LLM queue.
  const grader = (itemKind?: string) => proxyByKind({ startToCloseTimeout: t.llmMs + t.sandboxMs, ...hb, retry: { initialInterval: '2 seconds', maximumAttempts: 6 } }, itemKind);

  const progress: WorkflowProgress = { step: 'plan', state: 'running', completedSteps: [], detail: { agentId: input.agentId } };
  setHandler(progressQuery, () => progress);
  const enter = (step: string, detail?: Record<string, unknown>) => {
    progress.completedSteps.push(progress.step);
    progress.step = step;
    if (detail) progress.detail = { ...progress.detail, ...detail };
  };

  const examId = uuid4();
  const plan = await db.custodyPlan({ ...input, examId, workflowId: workflowInfo().workflowId });
  progress.detail = { ...progress.detail, examId: plan.examId, category: plan.category, difficulty: plan.difficulty, olympus: plan.olympus };
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
    // The exam's time limit bounds answering; an item not answered in time scores 0. (Before the patch the window was
    // also capped at 6 LLM activity timeouts, which cut master and legendary exams short of their limit.)
    const window = patched('custody-answer-window-is-the-time-limit') ? plan.timeLimitSeconds * 1000 : Math.min(plan.timeLimitSeconds * 1000, t.llmMs * 6);
    const answerer = proxyByKind({
      startToCloseTimeout: t.llmMs,
      ...hb,
      scheduleToCloseTimeout: window,
      retry: { initialInterval: '2 seconds', maximumAttempts: 6 },
    });
    const answers = await Promise.allSettled(positions.map((p) => answerer.custodyAnswerItem(plan.examId, p)));
    for (const a of answers) if (a.status === 'rejected' && !timedOut(a.reason)) throw a.reason;

    enter('grade');
    let scores = (await Promise.all(positions.map((p) => grader(kinds?.[p]).custodyGradeItem(plan.examId, p, 1)))).map((g) => g.score);
    if (isBorderline(examScore(scores), plan.passMark)) {
      enter('rejudge', { provisionalScore: examScore(scores) });
      for (const run of [2, 3]) {
        scores = (await Promise.all(positions.map((p) => grader(kinds?.[p]).custodyGradeItem(plan.examId, p, run)))).map((g) => g.score);
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

function timedOut(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof TimeoutFailure;
}
