import { randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Notification } from '../../src/db/entities';
import { krippendorffAlphaInterval } from '../../src/domain/judges';
import type { FakeLlmServer, FakeRequest } from '../fakes/llm-servers';
import { startTestApi, type TestApi } from '../helpers/api';
import { testConfig } from '../helpers/config';
import { EXAM_PROMPTS, judgeReply } from '../helpers/custody';
import { useLlmTestBed } from '../helpers/llm';
import { createTestWorker } from '../helpers/worker';

const bed = useLlmTestBed();
const em = () => bed.orm.em.fork() as EntityManager;
const RUBRIC = [{ name: 'accuracy', weight: 1, description: 'Is it correct?' }];
const ONE_MODEL = { LLM_PROFILE_FALLBACK: '', ANTHROPIC_API_KEY: '' };

interface ExamView {
  status: string;
  models: { examiner: string; answerer: string; judge: string; auditJudge: string | null } | null;
  judgeIndependence: string | null;
  items: Array<{ score: number | null }>;
}

/** Scripts both fakes alike: the examiner's items ("Question <n> …"), the agent's answer, and each judge's score per item. */
function script(judgeScores: { openai: number[]; anthropic: number[] }): void {
  bed.fakes.reset();
  for (const [name, fake] of [
    ['openai', bed.fakes.openai],
    ['anthropic', bed.fakes.anthropic],
  ] as Array<['openai' | 'anthropic', FakeLlmServer]>) {
    fake.when(EXAM_PROMPTS.examiner, (req) => ({
      json: {
        items: Array.from({ length: Number(/Write (\d+) exam item/.exec(req.prompt)?.[1] ?? 3) }, (_, i) => ({
          kind: 'open',
          prompt: `Question ${i} ${randomUUID()} about knowledge.`,
          rubric: RUBRIC,
        })),
      },
    }));
    fake.when(EXAM_PROMPTS.answering, { text: 'An answer.' });
    fake.when(EXAM_PROMPTS.judge, (req) =>
      judgeReply(judgeScores[name][Number(/Question (\d+) /.exec(req.prompt)?.[1])] ?? 0, RUBRIC),
    );
  }
}

/** Runs one exam of imperium through the API with the worker and API configured by `env`; returns the exam as served. */
async function examThroughApi(
  env: Record<string, string>,
): Promise<{ exam: ExamView; judges: unknown; list: ExamView[] }> {
  const taskQueue = `judges-${randomBytes(4).toString('hex')}`;
  const config = testConfig(
    bed.db.url,
    bed.fakes.env({ TEMPORAL_TASK_QUEUE: taskQueue, RATE_LIMIT_MAX: '10000', ...env }),
  );
  const api: TestApi = await startTestApi(config);
  const worker = await createTestWorker(config, bed.orm, {
    workflowsPath: require.resolve('../../workflows'),
    taskQueue,
  });
  try {
    const [viewer, operator] = await Promise.all([api.key('viewer'), api.key('operator', 'ops')]);
    worker.start();
    const started = await api.request('POST', '/api/custody/tests', {
      key: operator,
      body: { agentId: 'imperium', category: 'knowledge_verification' },
    });
    expect(started.status).toBe(202);
    const { workflowId } = started.body as { workflowId: string };
    await worker.client.workflow.getHandle(workflowId).result();
    const exam = (await api.request('GET', `/api/custody/tests/${workflowId}`, { key: viewer })).body as ExamView;
    const list = (
      (await api.request('GET', '/api/custody/tests?agentId=imperium', { key: viewer })).body as { items: ExamView[] }
    ).items;
    const judges = (await api.request('GET', '/api/custody/judges', { key: viewer })).body;
    return { exam, judges, list };
  } finally {
    await worker.close();
    await api.close();
  }
}

const judged = (fake: FakeLlmServer): FakeRequest[] =>
  fake.requests.filter((r) => r.prompt.includes(EXAM_PROMPTS.judge));

beforeEach(async () => {
  await em().execute('delete from judge_audits');
  await em().execute('delete from exam_items');
  await em().execute('delete from exams');
  await em().execute('delete from notifications');
});

it('with two providers configured, the judge and the examiner are the other provider than the answering model', async () => {
  script({ openai: [9, 9, 9], anthropic: [8, 8, 8] });
  const { exam, list } = await examThroughApi({ CUSTODY_AUDIT_SAMPLE_RATE: '0' });
  expect(exam).toMatchObject({
    status: 'passed',
    models: {
      answerer: 'openai:gpt-4o-mini',
      judge: 'anthropic:claude-3-5-haiku-latest',
      examiner: 'anthropic:claude-3-5-haiku-latest',
      auditJudge: 'openai:gpt-4o-mini',
    },
    judgeIndependence: 'independent_provider',
  });
  expect(exam.items.map((i) => i.score)).toEqual([80, 80, 80]);
  expect(judged(bed.fakes.anthropic)).toHaveLength(3);
  expect(judged(bed.fakes.openai)).toHaveLength(0);
  expect(bed.fakes.anthropic.requests.filter((r) => r.prompt.includes(EXAM_PROMPTS.answering))).toHaveLength(0);
  expect(list[0]).toMatchObject({
    judgeIndependence: 'independent_provider',
    models: { judge: 'anthropic:claude-3-5-haiku-latest' },
  });
});

it('with one model only, the exam records and shows same_model', async () => {
  script({ openai: [9, 9, 9], anthropic: [] });
  const { exam, list } = await examThroughApi({ ...ONE_MODEL, CUSTODY_AUDIT_SAMPLE_RATE: '1' });
  expect(exam).toMatchObject({
    status: 'passed',
    judgeIndependence: 'same_model',
    models: { answerer: 'openai:gpt-4o-mini', judge: 'openai:gpt-4o-mini', auditJudge: null },
  });
  expect(list[0]).toMatchObject({ judgeIndependence: 'same_model' });
  // No second model: nothing to audit with, so each item is judged once.
  expect(judged(bed.fakes.openai)).toHaveLength(3);
  expect(bed.fakes.anthropic.requests).toHaveLength(0);
});

it('at audit rate 1 every item is judged again by the other provider, and /custody/judges reports the measured agreement', async () => {
  // The exam's judge (Anthropic) and the audit judge (OpenAI) score the three items in opposite order.
  script({ openai: [2, 5, 9], anthropic: [9, 5, 2] });
  const { exam, judges } = await examThroughApi({ CUSTODY_AUDIT_SAMPLE_RATE: '1', CUSTODY_JUDGE_MIN_PAIRS: '3' });
  expect(exam.items.map((i) => i.score)).toEqual([90, 50, 20]);
  expect(judged(bed.fakes.anthropic)).toHaveLength(3);
  expect(judged(bed.fakes.openai)).toHaveLength(3);

  const alpha =
    krippendorffAlphaInterval([
      [90, 20],
      [50, 50],
      [20, 90],
    ]) ?? NaN;
  expect(alpha).toBeLessThan(0);
  const row = { pairs: 3, meanAbsoluteDifference: 140 / 3, alpha, belowThreshold: true };
  expect(judges).toMatchObject({ minAlpha: 0.667, minPairs: 3, auditSampleRate: 1 });
  const items = (judges as { items: Array<typeof row & { model: string }> }).items;
  expect(items.map((i) => i.model)).toEqual(['anthropic:claude-3-5-haiku-latest', 'openai:gpt-4o-mini']);
  for (const i of items) {
    expect(i).toMatchObject({ pairs: 3, belowThreshold: true });
    expect(i.meanAbsoluteDifference).toBeCloseTo(row.meanAbsoluteDifference, 2);
    expect(i.alpha).toBeCloseTo(alpha, 3);
  }
  const notes = await em().find(Notification, { kind: 'judge_agreement_low' }, { orderBy: { title: 'asc' } });
  expect(notes.map((n) => n.title)).toEqual([
    'Judge anthropic:claude-3-5-haiku-latest disagrees with the other judges',
    'Judge openai:gpt-4o-mini disagrees with the other judges',
  ]);
});

it('judges every re-judged item of a borderline exam a second time by the audit judge, whatever the sample rate', async () => {
  script({ openai: [7, 7, 7], anthropic: [7, 7, 7] });
  const { exam } = await examThroughApi({ CUSTODY_AUDIT_SAMPLE_RATE: '0' });
  expect(exam).toMatchObject({
    status: 'passed',
    models: { judge: 'anthropic:claude-3-5-haiku-latest', auditJudge: 'openai:gpt-4o-mini' },
  });
  // Borderline (70 at pass mark 70): each item judged three times by the judge, once by the audit judge.
  expect(judged(bed.fakes.anthropic)).toHaveLength(9);
  expect(judged(bed.fakes.openai)).toHaveLength(3);
  const audits = await em()
    .getConnection()
    .execute(
      'select position, judge_score::float as j, audit_score::float as a, reason from judge_audits order by position',
    );
  expect(audits).toEqual([0, 1, 2].map((position) => ({ position, j: 70, a: 70, reason: 'rejudged' })));
});
