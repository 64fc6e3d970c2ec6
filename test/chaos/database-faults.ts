import { examRow, examScoredOnRealAnswers, startExamOverApi, workflowEnding } from './exams';
import { waitFor, type Stage } from './harness';
import { query } from './measures';

const FAULT_MS = 8000;
const KILL_EVERY_MS = 250;

/**
 * Scenario 5: for {@link FAULT_MS} every PostgreSQL connection to the stage's database is killed every
 * {@link KILL_EVERY_MS} (`pg_terminate_backend`) — the API's and the worker's — while clients read exams and keep
 * starting exams over the API. Correct: the API never answers 500 (503 while it cannot use the database), answers 200
 * again once the faults stop, and every start it accepted (202) has its exam row and ends passed on its real answers.
 */
export async function connectionsKilledUnderLoad(stage: Stage): Promise<{ correct: boolean; notes: string[] }> {
  await stage.workers.start();
  const statuses = new Map<number, number>();
  const count = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1);
  const accepted: string[] = [];
  const until = Date.now() + FAULT_MS;
  let killed = 0;

  const killer = (async () => {
    while (Date.now() < until) {
      const rows = await query<{ n: number }>(
        stage,
        `select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`,
        [stage.databaseName],
      );
      killed += rows[0]?.n ?? 0;
      await new Promise((r) => setTimeout(r, KILL_EVERY_MS));
    }
  })();
  const reader = async () => {
    while (Date.now() < until) {
      count((await stage.api.request('GET', '/api/custody/tests?limit=5', { key: stage.operatorKey })).status);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const starter = async () => {
    while (Date.now() < until) {
      const res = await startExamOverApi(stage);
      count(res.status);
      if (res.status === 202 && res.workflowId !== undefined) accepted.push(res.workflowId);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  await Promise.all([killer, reader(), reader(), starter()]);

  const notes = [`${killed} connections killed; API answered ${[...statuses].map(([s, n]) => `${s}×${n}`).join(', ')}`];
  const recovered = await waitFor(
    'the API to answer 200 again',
    15_000,
    async () =>
      (await stage.api.request('GET', '/api/custody/tests?limit=5', { key: stage.operatorKey })).status === 200,
  ).catch(() => false);
  if (!recovered) notes.push('the API did not answer 200 within 15 s of the faults ending');
  const bad = [...statuses.keys()].filter((s) => s >= 500 && s !== 503);
  let allKept = accepted.length > 0;
  for (const workflowId of accepted) {
    if ((await examRow(stage, workflowId)) === undefined) {
      notes.push(`accepted exam ${workflowId} has no row`);
      allKept = false;
      continue;
    }
    const verdict = await examScoredOnRealAnswers(stage, workflowId, await workflowEnding(stage, workflowId, 180_000));
    if (!verdict.correct) allKept = false;
    notes.push(...verdict.notes);
  }
  if (accepted.length === 0) notes.push('no exam start was accepted under the faults');
  return {
    correct: bad.length === 0 && recovered && allKept,
    notes: bad.length === 0 && recovered && allKept ? [] : notes,
  };
}
