import type { MikroORM } from '@mikro-orm/postgresql';
import { LLM_OUTPUT_SCHEMAS } from '../../src/contracts';
import type { ExamItem, ItemGrading } from '../../src/db/entities';
import type { AgentId } from '../../src/domain/agents';
import { codeItemScore, median, openItemScore } from '../../src/domain/custody';
import type { LlmGateway } from '../../src/llm';
import type { Sandbox } from '../../src/sandbox';
import { activityCallContext, toFailure } from '../llm.activities';
import { runHiddenTests } from './code-tests';
import { fork, loadExam, loadItem, recordStep } from './shared';

type Run = ItemGrading['runs'][number];

/** The grading of an item the agent's model did not answer within the exam's time limit: its own failure. */
const NOT_IN_TIME: Run = { score: 0, criteria: [{ name: 'time limit', weight: 1, score: 0, reason: 'not answered within the time limit' }] };

/**
 * Step 5 of §3.1 for one item: run `run` (1, or 2–3 when the exam is borderline) of its grading. `open` items are
 * scored by the judge per rubric criterion (item score = weighted mean × 10); `code` items by running the hidden
 * tests in the sandbox (graded once: re-runs return the stored score). Each run is stored as it finishes, so a retry
 * or a new worker never pays for a finished run twice. Returns the item's score that counts (the median of its runs).
 */
export async function gradeItem(
  deps: { orm: MikroORM; llm: LlmGateway; sandbox: Sandbox; sandboxTimeoutMs: number },
  examId: string,
  position: number,
  run: number,
): Promise<{ score: number; spread: number }> {
  const em = fork(deps.orm);
  const item = await loadItem(em, examId, position);
  const grading: ItemGrading = item.grading ?? { runs: [], score: 0, spread: 0 };
  if (grading.runs.length >= run || (item.kind === 'code' && grading.runs.length > 0)) return { score: grading.score, spread: grading.spread };

  let next: Run;
  if (item.answerTimedOutAt !== null) next = NOT_IN_TIME;
  else if (item.answer === null) next = { score: 0, criteria: [] };
  else if (item.kind === 'code') next = await gradeCode(deps, item);
  else next = await judgeOpen(deps.llm, (await loadExam(em, examId)).agentId as AgentId, item, run);

  const runs = [...grading.runs, next];
  const scores = runs.map((r) => r.score);
  const updated: ItemGrading = { runs, score: round2(median(scores)), spread: round2(Math.max(...scores) - Math.min(...scores)) };
  await em.getConnection().execute('update exam_items set grading = ?::jsonb, graded_at = now() where id = ?', [JSON.stringify(updated), item.id], 'run');
  await recordStep(deps.orm, examId, run === 1 ? 'grade' : 'rejudge', `item ${position + 1}: ${updated.score}${run > 1 ? ` (run ${run})` : ''}`);
  return { score: updated.score, spread: updated.spread };
}

async function gradeCode(deps: { sandbox: Sandbox; sandboxTimeoutMs: number }, item: ExamItem): Promise<Run> {
  const tests = item.hiddenTests ?? { functionName: '', cases: [] };
  const outcomes = await runHiddenTests(deps.sandbox, item.answer ?? '', tests, deps.sandboxTimeoutMs);
  const passed = outcomes.filter((o) => o.passed).length;
  return { score: round2(codeItemScore(passed, outcomes.length)), tests: outcomes };
}

async function judgeOpen(llm: LlmGateway, agentId: AgentId, item: ExamItem, run: number): Promise<Run> {
  const rubric = item.rubric ?? [];
  let criteria;
  try {
    const result = await llm.complete(
      {
        agentId,
        purpose: 'exam.grade',
        profile: 'judge',
        schema: LLM_OUTPUT_SCHEMAS['custody.grade'],
        schemaName: 'grade',
        messages: [
          { role: 'system', content: 'You are a strict, fair judge of exam answers. Score each rubric criterion from 0 to 10 and give a one-sentence reason.' },
          {
            role: 'user',
            content: `Question:\n${item.prompt}\n\nRubric:\n${rubric.map((c) => `- ${c.name} (weight ${c.weight}): ${c.description}`).join('\n')}\n\nAnswer:\n${item.answer ?? ''}`,
          },
        ],
        maxTokens: 1200,
        // Re-judging a borderline exam wants independent opinions, not the cached first one.
        temperature: run === 1 ? 0 : 0.7,
        cacheTtlSeconds: 0,
      },
      activityCallContext(),
    );
    criteria = result.output.criteria;
  } catch (err) {
    throw toFailure(err);
  }
  const scored = rubric.map((c) => {
    const judged = criteria.find((j) => j.name.trim().toLowerCase() === c.name.trim().toLowerCase());
    return { name: c.name, weight: c.weight, score: judged?.score ?? 0, reason: judged?.reason ?? 'the judge did not score this criterion' };
  });
  return { score: round2(openItemScore(scored)), criteria: scored };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
