import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { finishExam } from '../../activities/custody/finish';
import type { Config } from '../../src/config';
import { custodyWorkflowId } from '../../src/contracts';
import { Agent, Exam, ExamItem } from '../../src/db/entities';
import { storeExamPlan } from '../../src/db/exam-plan';
import type { Rules } from '../../src/domain/rules';
import { testConfig } from '../helpers/config';
import { useTestOrm } from '../helpers/database';

/** The item scores of one graded exam: mean 75, between the default pass mark (70) and a stricter one (80). */
const ITEM_SCORES = [80, 70, 75];

const bed = useTestOrm();
const em = () => bed.orm.em.fork() as EntityManager;
const rulesFrom = (env: Record<string, string>): Config['rules'] => testConfig(bed.db.url, env).rules;

/**
 * Plans an exam for `agentId` as the plan activity does under `rules`, stores its items graded with ITEM_SCORES (what
 * the grading steps would have left), and scores it as the finish activity does under `rulesAtFinish`.
 */
async function gradeExam(agentId: Agent['id'], rules: Rules, rulesAtFinish: Rules = rules): Promise<Exam> {
  const stored = await storeExamPlan(
    em(),
    {
      agentId,
      category: 'code_quality',
      trigger: 'api',
      examId: randomUUID(),
      workflowId: custodyWorkflowId(agentId, randomUUID()),
    },
    rules,
  );
  if ('refused' in stored) throw new Error(stored.message);
  const items = ITEM_SCORES.map((score, position) => {
    const item = new ExamItem({
      examId: stored.id,
      position,
      kind: 'open',
      prompt: `Question ${position}`,
      normalizedPrompt: `question ${position}`,
      rubric: [{ name: 'accuracy', weight: 1, description: 'right?' }],
      hiddenTests: null,
    });
    item.answer = 'An answer.';
    item.grading = { runs: [{ score }], score, spread: 0 };
    return item;
  });
  await em().persistAndFlush(items);
  await finishExam(bed.orm, stored.id, rulesAtFinish);
  return em().findOneOrFail(Exam, { id: stored.id });
}

it('the same graded exam passes under the default CUSTODY_PASS_MARK and fails under a higher one', async () => {
  const lenient = await gradeExam('guardian', rulesFrom({}));
  const strict = await gradeExam('sandbox', rulesFrom({ CUSTODY_PASS_MARK: '80' }));

  expect(lenient).toMatchObject({ score: 75, passMark: 70, status: 'passed', outcome: { xpDelta: 50 } });
  expect(strict).toMatchObject({ score: 75, passMark: 80, status: 'failed', outcome: { xpDelta: 1 } });
  expect(await em().findOneOrFail(Agent, { id: 'guardian' })).toMatchObject({ examsPassed: 1, consecutiveFailures: 0 });
  expect(await em().findOneOrFail(Agent, { id: 'sandbox' })).toMatchObject({ examsFailed: 1, consecutiveFailures: 1 });
});

it('an exam is scored by the rules it was planned under, not by a configuration changed while it ran', async () => {
  const planned = rulesFrom({ CUSTODY_XP_PASS: '20', CUSTODY_RATING_K: '16' });
  const changed = rulesFrom({ CUSTODY_PASS_MARK: '80', CUSTODY_XP_PASS: '99', CUSTODY_RATING_K: '64' });
  const exam = await gradeExam('conquest', planned, changed);

  expect(exam.rules).toMatchObject({ passMark: 70, xpPass: 20, ratingK: 16 });
  // 75 ≥ 70: passed with +20 XP; against a basic exam (rated 1000, E ≈ 0.76) the rating moves by 16 · (0.75 − E) ≈ −0.16.
  expect(exam).toMatchObject({ status: 'passed', outcome: { xpDelta: 20, ratingBefore: 1200, ratingAfter: 1199.84 } });
});
