import { randomUUID } from 'node:crypto';
import type { Client as PgClient } from 'pg';
import { CUSTODY_EXAM_WORKFLOW, custodyWorkflowId, type CustodyExamInput } from '../../src/contracts';
import type { AgentId } from '../../src/domain/agents';
import { activityTimeouts } from '../../src/temporal/activity-timeouts';
import { waitFor, type Stage } from './harness';
import { JUDGE_SCORE } from './llm-script';
import { query } from './measures';

/** Every exam of the suite: Imperium, knowledge verification (open items only, graded by the fake judge). */
export const EXAM_AGENT: AgentId = 'imperium';
const CATEGORY = 'knowledge_verification';

/** Starts an exam over the API (the row is stored before the workflow starts); answers the workflow id. */
export async function startExamOverApi(
  stage: Stage,
  agentId: AgentId = EXAM_AGENT,
): Promise<{ status: number; workflowId?: string }> {
  const res = await stage.api.request('POST', '/api/custody/tests', {
    key: stage.operatorKey,
    body: { agentId, category: CATEGORY },
  });
  return { status: res.status, workflowId: (res.body as { workflowId?: string }).workflowId };
}

/** Starts an exam straight in Temporal, as a schedule does: the workflow's plan step stores the row. */
export async function startExamInTemporal(stage: Stage): Promise<string> {
  const workflowId = custodyWorkflowId(EXAM_AGENT, randomUUID());
  const input: CustodyExamInput = {
    agentId: EXAM_AGENT,
    category: CATEGORY,
    trigger: 'api',
    timeouts: activityTimeouts(stage.config),
  };
  await stage.client.workflow.start(CUSTODY_EXAM_WORKFLOW, {
    taskQueue: stage.config.temporal.taskQueue,
    workflowId,
    args: [input],
    workflowExecutionTimeout: `${stage.config.workflowTimeouts.examSeconds}s`,
  });
  return workflowId;
}

/** The workflow's ending, waited for at most `timeoutMs`: its result, or its failure's message. */
export async function workflowEnding(
  stage: Stage,
  workflowId: string,
  timeoutMs: number,
): Promise<{ result?: unknown; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ error: string }>(
    (resolve) => (timer = setTimeout(() => resolve({ error: `not closed after ${timeoutMs} ms` }), timeoutMs)),
  );
  const ending = stage.client.workflow
    .getHandle(workflowId)
    .result()
    .then(
      (result: unknown) => ({ result }),
      (err: Error) => ({ error: `${err.message}${err.cause instanceof Error ? `: ${err.cause.message}` : ''}` }),
    );
  try {
    return await Promise.race([ending, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface ExamRow {
  status: string;
  score: number | null;
  error: string | null;
  outcome: unknown;
  items: number;
  answered: number;
  graded: number;
}

export async function examRow(stage: Stage, workflowId: string): Promise<ExamRow | undefined> {
  const [row] = await query<ExamRow>(
    stage,
    `select e.status, e.score, e.error, e.outcome, count(i.id)::int as items, count(i.answer)::int as answered, count(i.grading)::int as graded
       from exams e left join exam_items i on i.exam_id = e.id where e.workflow_id = $1 group by e.id`,
    [workflowId],
  );
  return row;
}

/**
 * The exam finished as if nothing had happened: passed with the score its real answers earn (every item answered and
 * graded by the fake judge), its outcome applied — not failed, not 0, not `error` for the outage.
 */
export async function examScoredOnRealAnswers(
  stage: Stage,
  workflowId: string,
  ending: { result?: unknown; error?: string },
): Promise<{ correct: boolean; notes: string[] }> {
  const exam = await examRow(stage, workflowId);
  const expected = JUDGE_SCORE * 10;
  const correct =
    ending.error === undefined &&
    exam !== undefined &&
    exam.status === 'passed' &&
    Number(exam.score) === expected &&
    exam.items > 0 &&
    exam.answered === exam.items &&
    exam.graded === exam.items &&
    exam.outcome !== null;
  const notes = correct
    ? []
    : [
        `exam ${exam?.status ?? 'missing'} with score ${exam?.score ?? '-'} (${exam?.answered ?? 0}/${exam?.items ?? 0} answered)${ending.error === undefined ? '' : `; workflow: ${ending.error}`}${exam?.error ? `; ${exam.error}` : ''}`,
      ];
  return { correct, notes };
}

/**
 * A PostgreSQL transaction of the suite's own that holds a lock the worker's step needs: the step blocks inside its
 * activity (its statement waits on the lock), the moment to kill the worker mid-step. `release` rolls it back.
 */
export interface HeldLock {
  /** Resolves once another backend of the stage's database waits on a lock. */
  blocking(): Promise<void>;
  release(): Promise<void>;
}

export async function holdLock(stage: Stage, sql: string, params: unknown[]): Promise<HeldLock> {
  const pg: PgClient = await stage.pg();
  await pg.query('begin');
  await pg.query(sql, params);
  return {
    blocking: async () => {
      await waitFor('a worker statement waiting on the held lock', 60_000, async () => {
        const { rows } = await pg.query<{ n: number }>(
          `select count(*)::int as n from pg_stat_activity where datname = $1 and wait_event_type = 'Lock' and pid <> pg_backend_pid()`,
          [stage.databaseName],
        );
        return (rows[0]?.n ?? 0) > 0;
      });
    },
    release: async () => {
      await pg.query('rollback');
      await pg.end();
    },
  };
}

/** Holds a running exam of {@link EXAM_AGENT} (uncommitted): the plan step's insert waits on the one-running-exam index. */
export function holdRunningExamSlot(stage: Stage): Promise<HeldLock> {
  return holdLock(
    stage,
    `insert into exams (id, workflow_id, agent_id, category, difficulty, olympus, exam_number, pass_mark, time_limit_seconds, item_count, trigger, status, steps, borderline, started_at)
     values ($1, $2, $3, '${CATEGORY}', 'basic', false, 1, 70, 300, 3, 'api', 'running', '[]', false, now())`,
    [randomUUID(), `chaos-lock-${randomUUID()}`, EXAM_AGENT],
  );
}

/**
 * Holds the agent row: the score step (exam and agent rows locked `for update`, XP applied) waits on it. `no key
 * update` leaves the foreign-key checks of the earlier steps' inserts free.
 */
export function holdAgentRow(stage: Stage): Promise<HeldLock> {
  return holdLock(stage, 'select id from agents where id = $1 for no key update', [EXAM_AGENT]);
}
