import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { finishExam } from '../../activities/custody/finish';
import { custodyWorkflowId } from '../../src/contracts';
import { Exam, ExamItem, Notification } from '../../src/db/entities';
import { storeExamPlan } from '../../src/db/exam-plan';
import type { Rules } from '../../src/domain/rules';
import { testConfig } from '../helpers/config';
import { useTestOrm } from '../helpers/database';

const bed = useTestOrm();
const em = () => bed.orm.em.fork() as EntityManager;
// Short windows: the last 2 scores against the 2 before them, a drop of 15 or more regresses.
const rules = (): Rules =>
  testConfig(bed.db.url, {
    CUSTODY_REGRESSION_RECENT: '2',
    CUSTODY_REGRESSION_BASELINE: '2',
    CUSTODY_REGRESSION_MIN_DROP: '15',
  }).rules;

/** Plans, grades (one open item scored `score`) and finishes one code_quality exam of Guardian's. */
async function examScored(score: number): Promise<Exam> {
  const stored = await storeExamPlan(
    em(),
    {
      agentId: 'guardian',
      category: 'code_quality',
      trigger: 'api',
      examId: randomUUID(),
      workflowId: custodyWorkflowId('guardian', randomUUID()),
    },
    rules(),
  );
  if ('refused' in stored) throw new Error(stored.message);
  const item = new ExamItem({
    examId: stored.id,
    position: 0,
    kind: 'open',
    prompt: 'Question',
    normalizedPrompt: 'question',
    rubric: [{ name: 'accuracy', weight: 1, description: 'right?' }],
    hiddenTests: null,
  });
  item.answer = 'An answer.';
  item.grading = { runs: [{ score }], score, spread: 0 };
  await em().persistAndFlush(item);
  await finishExam(bed.orm, stored.id, rules());
  return em().findOneOrFail(Exam, { id: stored.id });
}

const regressionNotices = () =>
  em().find(Notification, { kind: 'skill_regression' }, { orderBy: { createdAt: 'asc' } });

it('notifies skill_regression once per episode: not again while the drop persists, again after a recovery', async () => {
  for (const score of [90, 90, 90]) await examScored(score);
  const first = await examScored(60);
  const persisting = [await examScored(60), await examScored(60)];
  expect((await regressionNotices()).map((n) => n.data.examId)).toEqual([first.id]);
  expect(first.outcome).toMatchObject({ regression: { drop: 15 }, regressionSince: first.id });
  for (const e of persisting)
    expect(e.outcome).toMatchObject({ regression: expect.any(Object), regressionSince: first.id });

  // Recovered: the recent mean is no longer 15 below the baseline; the next drop is a new episode.
  for (const score of [90, 90, 90])
    expect((await examScored(score)).outcome).toMatchObject({ regression: null, regressionSince: null });
  const again = await examScored(55);
  expect(again.outcome).toMatchObject({ regression: expect.any(Object), regressionSince: again.id });
  expect((await regressionNotices()).map((n) => n.data.examId)).toEqual([first.id, again.id]);
});
