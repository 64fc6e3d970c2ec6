import { cycleStudyWorkerKilled } from './cycle';
import { connectionsKilledUnderLoad } from './database-faults';
import { proposalApplyWorkerKilled } from './proposal-apply';
import { startHoldingReceiver, webhookDeliveryWorkerKilled, webhookEnv } from './deliveries';
import {
  examRow,
  examScoredOnRealAnswers,
  holdAgentRow,
  holdRunningExamSlot,
  startExamInTemporal,
  startExamOverApi,
  workflowEnding,
  type ExamRow,
  type HeldLock,
} from './exams';
import { RECONCILE_PERIOD_MS, waitFor, type Lab, type Stage } from './harness';
import { scriptExams, type PromptName, type ScriptedLlm } from './llm-script';
import { agentBaseline, measure, query, type RunFigures } from './measures';
import { endWorkFromTemporal, WORK_KINDS, type WorkKind } from './runs';
import type { WorkerProcess } from './workers';

/** One fault-injection scenario: `run` performs it once on a stage of its own and measures it. */
export interface Scenario {
  name: string;
  /** What is done and what "finished correctly" means (docs/testing.md). */
  description: string;
  run(lab: Lab): Promise<RunFigures>;
}

/** How long a faulted exam may take to end (the DB steps' retries wait out a 30 s start-to-close). */
const EXAM_ENDING_MS = 240_000;
/** A scenario run that has not finished after this long counts as not finished correctly (its stage is torn down). */
const RUN_LIMIT_MS = 360_000;

type Verdict = { correct: boolean; notes: string[] };

/** Runs `body` on a fresh stage with a scripted fake provider, measures it and closes the stage, whatever happens. */
async function onStage(
  lab: Lab,
  name: string,
  trap: { prompt: PromptName; nth: number } | undefined,
  body: (stage: Stage, llm: ScriptedLlm) => Promise<Verdict>,
  env?: Record<string, string>,
): Promise<RunFigures> {
  const stage = await lab.stage(name, env);
  try {
    const baseline = await agentBaseline(stage);
    const llm = scriptExams(lab.fakes.openai, trap);
    let verdict: Verdict;
    try {
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<Verdict>(
        (resolve) =>
          (timer = setTimeout(
            () => resolve({ correct: false, notes: [`the run did not finish within ${RUN_LIMIT_MS / 1000} s`] }),
            RUN_LIMIT_MS,
          )),
      );
      verdict = await Promise.race([body(stage, llm), limit]).finally(() => clearTimeout(timer));
    } catch (err) {
      verdict = {
        correct: false,
        notes: [
          String((err as Error).message ?? err)
            .trim()
            .split('\n')
            .slice(0, 8)
            .join(' | '),
        ],
      };
    }
    return await measure(stage, verdict, baseline);
  } finally {
    await stage.close();
  }
}

type ExamStep = 'plan' | 'generate' | 'answer' | 'grade' | 'score';

/**
 * Where each exam step is caught mid-way: a provider call held in flight, or a lock its statement waits on; `inStep`
 * confirms, for a lock, that the statement waiting is that step's (plan: no row stored yet; score: every item graded).
 */
const CATCH: Record<
  ExamStep,
  {
    trap?: { prompt: PromptName; nth: number };
    lock?: (stage: Stage) => Promise<HeldLock>;
    inStep?: (exam: ExamRow | undefined) => boolean;
  }
> = {
  plan: { lock: holdRunningExamSlot, inStep: (exam) => exam === undefined },
  generate: { trap: { prompt: 'examiner', nth: 1 } },
  answer: { trap: { prompt: 'answering', nth: 1 } },
  grade: { trap: { prompt: 'judge', nth: 1 } },
  score: {
    lock: holdAgentRow,
    inStep: (exam) => exam !== undefined && exam.items > 0 && exam.graded === exam.items && exam.status === 'running',
  },
};

/** Scenario 1: the worker process SIGKILLed inside one exam step, then a new worker process started. */
export function workerKilledInExamStep(step: ExamStep): Scenario {
  const { trap, lock, inStep } = CATCH[step];
  return {
    name: `worker SIGKILL in exam ${step}`,
    description: `the worker's process group is SIGKILLed while the exam's ${step} step is in flight (${trap ? 'its provider calls held open' : 'its SQL statement waiting on a lock the suite holds'}), then a new worker starts. Correct: the exam ends once, passed on its real answers (score 90, every item answered and graded), XP applied once.`,
    run: (lab) =>
      onStage(lab, `kill-${step}`, trap, async (stage, llm) => {
        const first = await stage.workers.start();
        const held = lock === undefined ? undefined : await lock(stage);
        const workflowId =
          step === 'plan' ? await startExamInTemporal(stage) : (await startExamOverApi(stage)).workflowId;
        if (workflowId === undefined) return { correct: false, notes: ['the exam was not accepted'] };
        await (held === undefined ? llm.sprung : held.blocking());
        const caught = inStep === undefined || inStep(await examRow(stage, workflowId));
        await stage.workers.kill(first);
        llm.release();
        await held?.release();
        await stage.workers.start();
        const verdict = await examScoredOnRealAnswers(
          stage,
          workflowId,
          await workflowEnding(stage, workflowId, EXAM_ENDING_MS),
        );
        return caught
          ? verdict
          : { correct: false, notes: [`the worker was not caught in the ${step} step`, ...verdict.notes] };
      }),
  };
}

/** The answer trap sprung, `victim` SIGKILLed, the trap released, `revive` run: the exam's verdict once it ends. */
async function killedInAnswer(
  stage: Stage,
  llm: ScriptedLlm,
  workflowId: string,
  victim: WorkerProcess,
  revive: () => Promise<unknown>,
): Promise<Verdict> {
  await llm.sprung;
  await stage.workers.kill(victim);
  llm.release();
  await revive();
  return examScoredOnRealAnswers(stage, workflowId, await workflowEnding(stage, workflowId, EXAM_ENDING_MS));
}

/** The exam's time limit in the outage scenario, and how long its worker stays dead: longer than the limit. */
const SHORT_LIMIT_S = 10;
const OUTAGE_MS = (SHORT_LIMIT_S + 10) * 1000;

/**
 * Scenario 1, the issue's own case: the worker SIGKILLed in the answer step and kept down longer than the exam's time
 * limit. The exam is accepted while no worker runs and its stored time limit lowered before any step reads it.
 */
export const workerDownLongerThanTimeLimit: Scenario = {
  name: 'worker down in exam answer longer than its time limit',
  description: `the exam's time limit is lowered to ${SHORT_LIMIT_S} s on its stored row; the worker's process group is SIGKILLed while its answer calls are in flight and a new worker starts only ${OUTAGE_MS / 1000} s later. Correct: the exam ends once, passed on its real answers (score 90, every item answered and graded), not failed for the outage.`,
  run: (lab) =>
    onStage(lab, 'answer-outage', { prompt: 'answering', nth: 1 }, async (stage, llm) => {
      const { workflowId } = await startExamOverApi(stage);
      if (workflowId === undefined) return { correct: false, notes: ['the exam was not accepted'] };
      await query(stage, 'update exams set time_limit_seconds = $1 where workflow_id = $2', [
        SHORT_LIMIT_S,
        workflowId,
      ]);
      const first = await stage.workers.start();
      return killedInAnswer(stage, llm, workflowId, first, async () => {
        await new Promise((r) => setTimeout(r, OUTAGE_MS));
        await stage.workers.start();
      });
    }),
};

/**
 * Scenario 3 with the work split by kind: one process polls only the workflows queue, another only llm and sandbox;
 * the second is SIGKILLed mid-answer and a replacement of the same kind started.
 */
export const splitWorkersLlmKilled: Scenario = {
  name: 'workers split by kind, llm/sandbox one SIGKILLed',
  description:
    'one worker process polls WORKER_QUEUES=workflows, another WORKER_QUEUES=llm,sandbox; the second is SIGKILLed while an answer call is in flight and a new llm,sandbox worker is started. Correct: the exam ends once, passed on its real answers, XP once.',
  run: (lab) =>
    onStage(lab, 'split-workers', { prompt: 'answering', nth: 1 }, async (stage, llm) => {
      await stage.workers.start({ WORKER_QUEUES: 'workflows' });
      const calls = await stage.workers.start({ WORKER_QUEUES: 'llm,sandbox' });
      const { workflowId } = await startExamOverApi(stage);
      if (workflowId === undefined) return { correct: false, notes: ['the exam was not accepted'] };
      return killedInAnswer(stage, llm, workflowId, calls, () => stage.workers.start({ WORKER_QUEUES: 'llm,sandbox' }));
    }),
};

/** Scenario 3: two workers poll; the first is SIGKILLed in the answer step and never comes back. */
export const twoWorkersOneKilled: Scenario = {
  name: 'two workers, one SIGKILLed',
  description:
    'two worker processes poll the queue; one is SIGKILLed while an answer call is in flight and stays dead. Correct: the other finishes the exam, passed on its real answers, XP once.',
  run: (lab) =>
    onStage(lab, 'two-workers', { prompt: 'answering', nth: 1 }, async (stage, llm) => {
      const [first] = await Promise.all([stage.workers.start(), stage.workers.start()]);
      const { workflowId } = await startExamOverApi(stage);
      if (workflowId === undefined) return { correct: false, notes: ['the exam was not accepted'] };
      return killedInAnswer(stage, llm, workflowId, first, async () => undefined);
    }),
};

/** Scenario 1 for webhook deliveries: the worker SIGKILLed while its POST is held by the receiver (see deliveries.ts). */
export const webhookWorkerKilled: Scenario = {
  name: 'worker SIGKILL in webhook delivery',
  description:
    'a notification is created with WEBHOOK_URL pointing at a loopback receiver that holds the POST open; the worker is SIGKILLed while it is held, then a new worker starts (the receiver answers 200 from then on). Correct: one notification, one delivery row, delivered with one successful attempt recorded, its workflow completed, every request received carrying that one delivery id.',
  run: async (lab) => {
    const receiver = await startHoldingReceiver();
    try {
      return await onStage(
        lab,
        'kill-webhook',
        undefined,
        (stage) => webhookDeliveryWorkerKilled(stage, receiver),
        webhookEnv(receiver),
      );
    } finally {
      await receiver.close();
    }
  },
};

/** Scenario 1 for proposals: the worker SIGKILLed in the apply of an approved proposal (see proposal-apply.ts). */
export const proposalApplyKilled: Scenario = {
  name: 'worker SIGKILL in proposal apply',
  description:
    "a proposal started over the API (the fake drafts the example target's fix) is approved through POST /api/proposals/:id/review; its apply is held after its commit is on the branch, before the proposal row records it, and the worker SIGKILLed there; then a new worker starts. Correct: the proposal ends applied once, its recorded commit the tip of the one proposal branch, one proposal_applied notification, each timeline state once, the review answered 200.",
  run: (lab) => onStage(lab, 'kill-apply', undefined, (stage) => proposalApplyWorkerKilled(stage)),
};

/** Scenario 1 for learning cycles: the worker SIGKILLed in the cycle's study step (see cycle.ts). */
export const cycleStudyKilled: Scenario = {
  name: 'worker SIGKILL in learning cycle study',
  description:
    "a learning cycle started over the API runs its three children (the fake scripts plan, triage, the experiment's test and the analysis); the worker is SIGKILLed while the study step's model calls are held open, then a new worker starts. Correct: the cycle completes, its run and each child's run exist once and are completed, each study note is written once, one cycle_completed notification.",
  run: (lab) => onStage(lab, 'kill-cycle', undefined, cycleStudyWorkerKilled),
};

/** Scenario 6: the Temporal server stopped (SIGTERM) mid-exam and started again on its state file 5 s later. */
export const temporalRestarted: Scenario = {
  name: 'Temporal server restarted',
  description:
    'while an answer call is in flight the Temporal dev server is stopped and, 5 s later, started again on the same state file (--db-filename); the worker keeps running. Correct: the worker reconnects and the exam finishes passed on its real answers, XP once.',
  run: (lab) =>
    onStage(lab, 'temporal-restart', { prompt: 'answering', nth: 1 }, async (stage, llm) => {
      await stage.workers.start();
      const { workflowId } = await startExamOverApi(stage);
      if (workflowId === undefined) return { correct: false, notes: ['the exam was not accepted'] };
      await llm.sprung;
      await lab.restartTemporal(5000);
      llm.release();
      return examScoredOnRealAnswers(stage, workflowId, await workflowEnding(stage, workflowId, EXAM_ENDING_MS));
    }),
};

/**
 * Scenario 2 for exams: cancelled or terminated from Temporal in its answer step. Correct: the row ends `cancelled`
 * with nothing applied — at once for a cancel, within one reconciler period for a terminate — and the agent is free
 * (a new exam is accepted, 202).
 */
export function examEndedFromTemporal(how: 'cancel' | 'terminate'): Scenario {
  return {
    name: `exam ${how === 'cancel' ? 'cancelled' : 'terminated'} in Temporal`,
    description: `an exam in its answer step is ${how === 'cancel' ? 'cancelled (handle.cancel())' : 'terminated (handle.terminate())'} from Temporal. Correct: its row ends cancelled with no score or outcome ${how === 'cancel' ? 'when the workflow closes' : 'within one reconciler period'}, and a new exam for the agent is accepted (202, not 409).`,
    run: (lab) =>
      onStage(lab, `exam-${how}`, { prompt: 'answering', nth: 1 }, async (stage, llm) => {
        await stage.workers.start();
        const { workflowId } = await startExamOverApi(stage);
        if (workflowId === undefined) return { correct: false, notes: ['the exam was not accepted'] };
        await llm.sprung;
        const handle = stage.client.workflow.getHandle(workflowId);
        const endedAt = Date.now();
        await (how === 'cancel' ? handle.cancel() : handle.terminate('chaos: terminated by the operator'));
        await workflowEnding(stage, workflowId, 60_000);
        // A cancelled workflow ends its row before it closes; a terminated one is left to the reconciler.
        const deadline = how === 'cancel' ? 0 : RECONCILE_PERIOD_MS + 5000;
        const exam = await waitFor(`the exam row to end`, deadline, async () => {
          const row = await examRow(stage, workflowId);
          return row?.status !== 'running' && row;
        }).catch(() => examRow(stage, workflowId));
        const notes: string[] = [];
        const ended = exam !== undefined && exam.status === 'cancelled' && exam.score === null && exam.outcome === null;
        if (!ended)
          notes.push(
            `exam ${exam?.status ?? 'missing'} ${Math.round((Date.now() - endedAt) / 1000)} s after the ${how}`,
          );
        const next = await startExamOverApi(stage);
        if (next.status !== 202) notes.push(`a new exam for the agent was answered ${next.status}`);
        if (next.workflowId !== undefined) {
          await stage.client.workflow.getHandle(next.workflowId).cancel();
          await workflowEnding(stage, next.workflowId, 60_000);
        }
        return { correct: ended && next.status === 202, notes };
      }),
  };
}

/** Scenario 2 for the other kinds of work: cancelled or terminated from Temporal while under way. */
export function workEndedFromTemporal(kind: WorkKind, how: 'cancel' | 'terminate'): Scenario {
  return {
    name: `${kind.name} ${how === 'cancel' ? 'cancelled' : 'terminated'} in Temporal`,
    description: `a ${kind.name} started over the API is ${how === 'cancel' ? 'cancelled' : 'terminated'} from Temporal while under way. Correct: the workflow closes, ${kind.table === undefined ? 'nothing is left half-written' : `its row ends cancelled ${how === 'cancel' ? 'when the workflow closes' : 'within one reconciler period'}`}, and the same work can be started again (202).`,
    run: (lab) =>
      onStage(lab, `${kind.name.replace(/\s+/g, '-')}-${how}`, undefined, async (stage) => {
        await stage.workers.start();
        return endWorkFromTemporal(stage, kind, how);
      }),
  };
}

/** Scenario 5: PostgreSQL connections killed under API and worker load (see database-faults.ts). */
export const postgresConnectionsKilled: Scenario = {
  name: 'PostgreSQL connections killed',
  description:
    'for 8 s every connection to the database (API and worker) is killed every 250 ms with pg_terminate_backend while two clients read exams and one keeps starting exams. Correct: no 500 (503 while the database cannot be used), 200 again after the faults, every accepted start (202) has its row and ends passed on its real answers.',
  run: (lab) => onStage(lab, 'pg-kill', undefined, connectionsKilledUnderLoad),
};

/** Every scenario, in the order the suite runs them. */
export const SCENARIOS: Scenario[] = [
  ...(['plan', 'generate', 'answer', 'grade', 'score'] as const).map(workerKilledInExamStep),
  workerDownLongerThanTimeLimit,
  webhookWorkerKilled,
  proposalApplyKilled,
  cycleStudyKilled,
  examEndedFromTemporal('cancel'),
  examEndedFromTemporal('terminate'),
  ...WORK_KINDS.flatMap((kind) => [workEndedFromTemporal(kind, 'cancel'), workEndedFromTemporal(kind, 'terminate')]),
  twoWorkersOneKilled,
  splitWorkersLlmKilled,
  postgresConnectionsKilled,
  temporalRestarted,
];
