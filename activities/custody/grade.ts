import { ApplicationFailure } from '@temporalio/activity';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../../src/config';
import type { ExamItem, GradingRun as Run, ItemGrading } from '../../src/db/entities';
import type { AgentId } from '../../src/domain/agents';
import { codeItemScore, median } from '../../src/domain/custody';
import type { LlmGateway } from '../../src/llm';
import type { Sandbox } from '../../src/sandbox';
import { runHiddenTests } from './code-tests';
import { auditItem, auditReason } from './audit';
import { judgeOpen } from './judge';
import { examProfile, fork, loadExam, loadItem, recordStep } from './shared';

/** The grading of an item the agent's model did not answer within the exam's time limit: its own failure. */
const NOT_IN_TIME: Run = {
  score: 0,
  criteria: [{ name: 'time limit', weight: 1, score: 0, reason: 'not answered within the time limit' }],
};

/**
 * Step 5 of §3.1 for one item: run `run` (1, or 2–3 when the exam is borderline) of its grading. `open` items are
 * scored by the judge per rubric criterion (item score = weighted mean × 10; see judge.ts); `code` items by running
 * the hidden tests in the sandbox (graded once: re-runs return the stored score). Each run is stored as it finishes,
 * so a retry or a new worker never pays for a finished run twice. Returns the item's score that counts: the median of
 * its runs, leaving out a judging that is a grading error (a criterion left unscored). Throws non-retryable
 * `JudgeOmittedCriteria` when no run of the item counts, so the exam ends `error` instead of scoring the item 0.
 */
export async function gradeItem(
  deps: { orm: MikroORM; llm: LlmGateway; sandbox: Sandbox; sandboxTimeoutMs: number; judges: Config['judges'] },
  examId: string,
  position: number,
  run: number,
): Promise<{ score: number; spread: number }> {
  const em = fork(deps.orm);
  const item = await loadItem(em, examId, position);
  const grading: ItemGrading = item.grading ?? { runs: [], score: 0, spread: 0 };
  if (grading.runs.length >= run || (item.kind === 'code' && grading.runs.length > 0)) {
    await auditIfDue(deps, examId, item, grading, run);
    return counted(grading, position);
  }

  let next: Run;
  if (item.answerTimedOutAt !== null) next = NOT_IN_TIME;
  else if (item.answer === null) next = { score: 0, criteria: [] };
  else if (item.kind === 'code') next = await gradeCode(deps, item);
  else {
    const exam = await loadExam(em, examId);
    next = await judgeOpen(deps.llm, exam.agentId as AgentId, item, run, examProfile(exam, 'judge'));
  }

  const runs = [...grading.runs, next];
  const scores = runs.flatMap((r) => (r.score === null ? [] : [r.score]));
  const updated: ItemGrading =
    scores.length === 0
      ? { runs, score: null, spread: 0 }
      : { runs, score: round2(median(scores)), spread: round2(Math.max(...scores) - Math.min(...scores)) };
  await em
    .getConnection()
    .execute(
      'update exam_items set grading = ?::jsonb, graded_at = now() where id = ?',
      [JSON.stringify(updated), item.id],
      'run',
    );
  const detail = next.error === undefined ? String(updated.score) : `grading error: ${next.error}`;
  await recordStep(
    deps.orm,
    examId,
    run === 1 ? 'grade' : 'rejudge',
    `item ${position + 1}: ${detail}${run > 1 ? ` (run ${run})` : ''}`,
  );
  await auditIfDue(deps, examId, item, updated, run);
  return counted(updated, position);
}

/**
 * A judged open item that is being re-judged, or falls in the CUSTODY_AUDIT_SAMPLE_RATE sample, is judged a second
 * time by the exam's audit judge (audit.ts), paired with its first judging's score. Runs after the run is stored and
 * again on a retry, so an audit a crash interrupted is still made; audited items are never audited twice.
 */
async function auditIfDue(
  deps: { orm: MikroORM; llm: LlmGateway; judges: Config['judges'] },
  examId: string,
  item: ExamItem,
  grading: ItemGrading,
  run: number,
) {
  const first = grading.runs[0]?.score;
  if (item.kind !== 'open' || item.answer === null || first == null) return;
  const reason = auditReason(examId, item.position, run, deps.judges.auditSampleRate);
  if (reason !== null) await auditItem(deps, await loadExam(fork(deps.orm), examId), item, first, reason);
}

/** The item's score that counts, or the failure that ends the exam `error` when none of its runs counts. */
function counted(grading: ItemGrading, position: number): { score: number; spread: number } {
  if (grading.score !== null) return { score: grading.score, spread: grading.spread };
  const errors = grading.runs.flatMap((r) => (r.error === undefined ? [] : [r.error]));
  throw ApplicationFailure.nonRetryable(
    `item ${position + 1} has no valid grading: ${errors.join('; ') || 'no run counted'}`,
    'JudgeOmittedCriteria',
  );
}

async function gradeCode(deps: { sandbox: Sandbox; sandboxTimeoutMs: number }, item: ExamItem): Promise<Run> {
  const tests = item.hiddenTests ?? { functionName: '', cases: [] };
  const outcomes = await runHiddenTests(deps.sandbox, item.answer ?? '', tests, deps.sandboxTimeoutMs);
  const passed = outcomes.filter((o) => o.passed).length;
  return { score: round2(codeItemScore(passed, outcomes.length)), tests: outcomes };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
