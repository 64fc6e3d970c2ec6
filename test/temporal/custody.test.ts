import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { WorkflowFailedError } from '@temporalio/client';
import { presentExam } from '../../src/api/routes/custody/presenter';
import {
  CUSTODY_EXAM_WORKFLOW,
  custodyWorkflowId,
  type CustodyExamInput,
  type CustodyExamResult,
} from '../../src/contracts';
import { Agent, Exam, ExamItem, Notification, TokenUsageEvent } from '../../src/db/entities';
import { storeExamPlan } from '../../src/db/exam-plan';
import { DEFAULT_RULES } from '../../src/domain/rules';
import type { AgentId } from '../../src/domain/agents';
import type { FakeReply, FakeRequest } from '../fakes/llm-servers';
import { testConfig } from '../helpers/config';
import { EXAM_PROMPTS, judgeReply, openItem, RUBRIC } from '../helpers/custody';
import { recordHistory } from '../helpers/histories';
import { useLlmTestBed } from '../helpers/llm';
import { createTestWorker } from '../helpers/worker';

const WORKFLOWS = require.resolve('../../workflows');
const TIMEOUTS = { llmMs: 8000, sandboxMs: 15000, dbMs: 5000 };
const bed = useLlmTestBed();
const em = () => bed.orm.em.fork() as EntityManager;

const { examiner: EXAMINER, answering: ANSWERING, judge: JUDGE } = EXAM_PROMPTS;
const codeItem = {
  kind: 'code',
  prompt: 'Write a JavaScript function add(a, b) that returns the sum of two numbers.',
  functionName: 'add',
  tests: [
    { args: [1, 2], expected: 3 },
    { args: [2, 2], expected: 4 },
    { args: [-1, 1], expected: 0 },
  ],
};

/** `judge` gives each judging a score for every criterion, or the whole reply. */
function script(opts: {
  items: (count: number) => unknown[];
  judge: (req: FakeRequest, n: number) => number | FakeReply;
  code?: string;
  examiner?: (req: FakeRequest) => FakeReply;
}) {
  let judged = 0;
  bed.fakes.reset();
  bed.fakes.openai.when(
    EXAMINER,
    opts.examiner ??
      ((req) => ({ json: { items: opts.items(Number(/Write (\d+) exam item/.exec(req.prompt)?.[1] ?? 3)) } })),
  );
  bed.fakes.openai.when(ANSWERING, (req) =>
    req.schema === undefined
      ? { text: 'A careful, complete answer.' }
      : { json: { code: opts.code ?? 'function add(a, b) { return a + b; }' } },
  );
  bed.fakes.openai.when(JUDGE, (req) => {
    const reply = opts.judge(req, judged++);
    return typeof reply === 'number' ? judgeReply(reply) : reply;
  });
}

async function runExam(
  agentId: AgentId,
  input: Partial<CustodyExamInput> = {},
  env: Record<string, string> = {},
): Promise<CustodyExamResult | Error> {
  const config = testConfig(bed.db.url, bed.fakes.env({ LLM_PROFILE_FALLBACK: '', ANTHROPIC_API_KEY: '', ...env }));
  const worker = await createTestWorker(config, bed.orm, { workflowsPath: WORKFLOWS });
  try {
    const args: CustodyExamInput = { agentId, trigger: 'api', timeouts: TIMEOUTS, ...input };
    return await worker.run(() =>
      worker.client.workflow
        .execute(CUSTODY_EXAM_WORKFLOW, {
          args: [args],
          taskQueue: worker.taskQueue,
          workflowId: custodyWorkflowId(agentId, randomUUID()),
        })
        .catch((err: Error) => err),
    );
  } finally {
    await worker.close();
  }
}

async function resetAgent(id: AgentId, fields: Partial<Agent> = {}): Promise<void> {
  await em().execute('delete from exam_items where exam_id in (select id from exams where agent_id = ?)', [id]);
  await em().execute('delete from exams where agent_id = ?', [id]);
  await em().execute('delete from notifications');
  await em().nativeUpdate(
    Agent,
    { id },
    {
      level: 1,
      xp: 0,
      examsTaken: 0,
      examsPassed: 0,
      examsFailed: 0,
      consecutivePasses: 0,
      consecutiveFailures: 0,
      lastPassedAt: null,
      levelHoldReason: null,
      status: 'active',
      ...fields,
    },
  );
}

const agent = (id: AgentId) => em().findOneOrFail(Agent, { id });
const examOf = (result: CustodyExamResult | Error) =>
  em().findOneOrFail(Exam, { id: (result as CustodyExamResult).examId });

it('passes an exam: items, answers, per-criterion grades stored; XP, rating and a level-up applied; ledger tied to the workflow', async () => {
  await resetAgent('imperium', { xp: 80 });
  script({ items: (n) => Array.from({ length: n }, (_, i) => openItem(i)), judge: () => 9 });
  const result = await runExam('imperium');
  expect(result).toMatchObject({ status: 'passed', score: 90 });

  const exam = await examOf(result);
  expect(exam).toMatchObject({
    category: 'knowledge_verification',
    difficulty: 'basic',
    olympus: false,
    passMark: 70,
    itemCount: 3,
  });
  expect(exam.outcome).toMatchObject({
    xpBefore: 80,
    xpDelta: 50,
    xpAfter: 130,
    levelBefore: 1,
    levelAfter: 2,
    levelHeldReason: null,
    ratingBefore: 1200,
  });
  expect(exam.steps.map((s) => s.step)).toEqual(
    expect.arrayContaining(['plan', 'generate', 'answer', 'grade', 'score']),
  );
  const items = await em().find(ExamItem, { examId: exam.id }, { orderBy: { position: 'asc' } });
  expect(items).toHaveLength(3);
  expect(items[0]?.answer).toBe('A careful, complete answer.');
  expect(items[0]?.grading?.runs[0]?.criteria).toEqual([
    { id: 'c1', name: 'accuracy', weight: 2, score: 9, reason: 'scored 9' },
    { id: 'c2', name: 'clarity', weight: 1, score: 9, reason: 'scored 9' },
  ]);
  expect(await agent('imperium')).toMatchObject({
    xp: 130,
    level: 2,
    examsTaken: 1,
    examsPassed: 1,
    consecutivePasses: 1,
  });
  expect((await agent('imperium')).lastPassedAt).not.toBeNull();
  expect(await em().count(Notification, { kind: 'level_up' })).toBe(1);
  await recordHistory(exam.workflowId, 'custody-exam-passed');
  const purposes = (await em().find(TokenUsageEvent, { workflowId: exam.workflowId })).map((e) => e.purpose).sort();
  expect(purposes).toEqual([
    'exam.answer',
    'exam.answer',
    'exam.answer',
    'exam.generate',
    'exam.grade',
    'exam.grade',
    'exam.grade',
  ]);
});

it('holds the level with the reason when the recent pass rate is too low', async () => {
  // Exam 6 (not an Olympus one) after four failed exams: 1 pass in the last 5.
  await resetAgent('imperium', { xp: 80, examsTaken: 5, examsFailed: 4, consecutiveFailures: 0 });
  for (let i = 0; i < 4; i++) {
    await em().execute(
      `insert into exams (id, workflow_id, agent_id, category, difficulty, olympus, exam_number, pass_mark, time_limit_seconds, item_count, trigger, status, steps, score, borderline, started_at, completed_at)
       values (?, ?, 'imperium', 'self_improvement', 'basic', false, ?, 70, 300, 3, 'api', 'failed', '[]', 20, false, now() - interval '1 hour', now() - ? * interval '1 minute')`,
      [randomUUID(), `history-${randomUUID()}`, i + 1, 10 - i],
    );
  }
  script({ items: (n) => Array.from({ length: n }, (_, i) => openItem(i)), judge: () => 9 });
  const result = await runExam('imperium', { category: 'knowledge_verification' });
  expect(result).toMatchObject({ status: 'passed' });
  const after = await agent('imperium');
  expect(after).toMatchObject({ xp: 130, level: 1 });
  expect(after.levelHoldReason).toMatch(/pass rate over the last 5 exams is 0\.20/);
  expect((await examOf(result)).outcome?.levelHeldReason).toBe(after.levelHoldReason);
});

it('fails an exam: +1 XP, a failure counted, no level-up; the third failure in a row notifies the streak', async () => {
  await resetAgent('imperium', { consecutiveFailures: 1, examsTaken: 1, examsFailed: 1 });
  script({ items: (n) => Array.from({ length: n }, (_, i) => openItem(i)), judge: () => 3 });
  const result = await runExam('imperium');
  expect(result).toMatchObject({ status: 'failed', score: 30 });
  expect(await agent('imperium')).toMatchObject({
    xp: 1,
    level: 1,
    examsFailed: 2,
    consecutiveFailures: 2,
    lastPassedAt: null,
  });
  expect(await em().count(Notification, { kind: 'exam_failure_streak' })).toBe(0);
  await runExam('imperium');
  expect(await agent('imperium')).toMatchObject({ consecutiveFailures: 3 });
  expect(await em().findOne(Notification, { kind: 'exam_failure_streak' })).toMatchObject({
    priority: 'high',
    data: { agentId: 'imperium', consecutiveFailures: 3 },
  });
});

it("puts the agent's most relevant knowledge notes in context and replaces items it saw in the last 30 days", async () => {
  await resetAgent('imperium');
  await em().execute(
    `insert into knowledge_notes (id, agent_id, category, title, body, sources, created_at) values
       (?, 'imperium', 'knowledge_verification', 'Idempotent activities', 'Key every write on a business id so retries change nothing twice.', '[]', now()),
       (?, 'imperium', null, 'Gardening', 'Tomatoes like sun.', '[]', now())`,
    [randomUUID(), randomUUID()],
  );
  const repeated = 'Why must activities be idempotent when Temporal retries them?';
  // A first exam with the repeated prompt; the second exam's examiner offers it again, first.
  script({
    items: (n) => [
      { kind: 'open', prompt: repeated, rubric: RUBRIC },
      ...Array.from({ length: n - 1 }, (_, i) => openItem(i)),
    ],
    judge: () => 9,
  });
  await runExam('imperium');
  const answering = bed.fakes.openai.requests.filter((r) => r.prompt.includes(ANSWERING));
  const withRepeated = answering.find((r) => r.prompt.includes(repeated));
  expect(withRepeated?.prompt).toMatch(/Idempotent activities: Key every write/);
  expect(withRepeated?.prompt).not.toMatch(/Tomatoes/);

  // The examiner offers the seen prompt again in its first answer, fresh ones when asked for replacements.
  script({
    items: (n) =>
      n === 3
        ? [{ kind: 'open', prompt: repeated, rubric: RUBRIC }, openItem(1), openItem(2)]
        : Array.from({ length: n }, (_, i) => openItem(i + 10)),
    judge: () => 9,
  });
  const second = await runExam('imperium');
  const prompts = (await em().find(ExamItem, { examId: (second as CustodyExamResult).examId })).map((i) => i.prompt);
  expect(prompts).toHaveLength(3);
  expect(prompts).not.toContain(repeated);
  const examinerCalls = bed.fakes.openai.requests.filter((r) => r.prompt.includes(EXAMINER));
  expect(examinerCalls).toHaveLength(2);
  expect(examinerCalls[1]?.prompt).toContain(repeated.toLowerCase().replace(/[?]/g, '').trim());
});

it('makes every 5th exam an Olympus Treaty exam: one more item, pass mark 90, −50 XP on a fail', async () => {
  await resetAgent('imperium', { xp: 120, level: 2, examsTaken: 4, examsPassed: 4 });
  script({ items: (n) => Array.from({ length: n }, (_, i) => openItem(i)), judge: () => 8 });
  const result = await runExam('imperium');
  const exam = await examOf(result);
  expect(exam).toMatchObject({ olympus: true, passMark: 90, itemCount: 4, examNumber: 5, status: 'failed', score: 80 });
  expect(await agent('imperium')).toMatchObject({ xp: 70, level: 2 });
});

it('re-judges a borderline exam twice and counts the median, storing the spread', async () => {
  await resetAgent('imperium');
  // First judging: 7 everywhere (score 70, on the pass mark); re-judgings: 9 then 5 per item → median 7.
  script({
    items: (n) => Array.from({ length: n }, (_, i) => openItem(i)),
    judge: (_req, n) => (n < 3 ? 7 : n < 6 ? 9 : 5),
  });
  const result = await runExam('imperium');
  expect(result).toMatchObject({ status: 'passed', score: 70 });
  expect(await examOf(result)).toMatchObject({ borderline: true });
  const items = await em().find(ExamItem, { examId: (result as CustodyExamResult).examId });
  for (const item of items) {
    expect(item.grading?.runs.map((r) => r.score)).toEqual([70, 90, 50]);
    expect(item.grading).toMatchObject({ score: 70, spread: 40 });
  }
});

const REPAIR = 'did not score every rubric criterion exactly once';
// The judge echoes the criteria's names too (as judges do): the old name matching read these names.
const scoredAs = (entries: Array<[id: string, name: string]>, score = 9): FakeReply => ({
  json: { criteria: entries.map(([id, name]) => ({ id, name, score, reason: `scored ${score}` })) },
});

it("matches the judge's scores to the rubric by id: a criterion it renames gets a repair turn naming it, and the repaired score counts", async () => {
  await resetAgent('imperium');
  // First answer: "clarity" under a name of the judge's own instead of its id c2. The repair gives c2.
  script({
    items: (n) => Array.from({ length: n }, (_, i) => openItem(i)),
    judge: (req) =>
      req.prompt.includes(REPAIR)
        ? scoredAs([['c2', 'clarity']])
        : scoredAs([
            ['c1', 'accuracy'],
            ['clarity of the answer', 'Clarity of the answer'],
          ]),
  });
  const result = await runExam('imperium');
  expect(result).toMatchObject({ status: 'passed', score: 90 });

  const judging = bed.fakes.openai.requests.filter((r) => r.prompt.includes(JUDGE));
  const repairs = judging.filter((r) => r.prompt.includes(REPAIR));
  expect(judging).toHaveLength(6);
  expect(repairs).toHaveLength(3);
  for (const r of repairs) {
    expect(r.prompt).toContain('not scored: c2; ids not in the rubric: "clarity of the answer"');
    expect(r.prompt).toContain('- id "c2": clarity (weight 1): Is it clear?');
    expect(r.prompt).toContain('"id":"clarity of the answer"'); // its previous answer, shown back
  }
  const items = await em().find(ExamItem, { examId: (result as CustodyExamResult).examId });
  for (const item of items) {
    expect(item.rubric?.map((c) => c.id)).toEqual(['c1', 'c2']);
    expect(item.grading).toMatchObject({
      score: 90,
      runs: [
        {
          score: 90,
          criteria: [
            { id: 'c1', score: 9 },
            { id: 'c2', name: 'clarity', score: 9 },
          ],
        },
      ],
    });
  }
});

it('records a grading error, not a 0, when the judge still omits a criterion after the repair: the exam ends error and applies nothing', async () => {
  await resetAgent('imperium');
  script({
    items: (n) => Array.from({ length: n }, (_, i) => openItem(i)),
    judge: () => scoredAs([['c1', 'accuracy']]),
  });
  const result = await runExam('imperium');
  expect(result).toBeInstanceOf(WorkflowFailedError);

  const exam = await em().findOneOrFail(Exam, { agentId: 'imperium' });
  expect(exam).toMatchObject({ status: 'error', score: null });
  expect(exam.error).toMatch(
    /^JudgeOmittedCriteria: item \d has no valid grading: the judge did not score criteria c2 \(clarity\), even after a repair turn$/,
  );
  const items = await em().find(ExamItem, { examId: exam.id }, { orderBy: { position: 'asc' } });
  const graded = items.filter((i) => i.grading !== null);
  expect(graded.length).toBeGreaterThan(0);
  for (const item of graded) {
    expect(item.grading).toEqual({
      score: null,
      spread: 0,
      runs: [
        {
          score: null,
          error: 'the judge did not score criteria c2 (clarity), even after a repair turn',
          criteria: [{ id: 'c1', name: 'accuracy', weight: 2, score: 9, reason: 'scored 9' }],
        },
      ],
    });
  }
  // The exam's detail in the API shows the error on the item's grading.
  const detail = presentExam(exam, items, { inputTokens: 0, outputTokens: 0, costUsd: 0, calls: 0 });
  expect(detail.items.find((i) => i.gradings.length > 0)).toMatchObject({
    score: null,
    gradings: [{ score: null, error: expect.stringMatching(/did not score criteria c2/) }],
  });
  const repairs = bed.fakes.openai.requests.filter((r) => r.prompt.includes(JUDGE) && r.prompt.includes(REPAIR));
  expect(repairs.length).toBe(graded.length);
  expect(await agent('imperium')).toMatchObject({ xp: 0, examsTaken: 0, examsFailed: 0, consecutiveFailures: 0 });
});

it('leaves out of the median a re-judging that is a grading error, and stores it with its error', async () => {
  await resetAgent('imperium');
  // Run 1: 7 everywhere (borderline). Run 2: c2 never scored, repair included (2 requests per item). Run 3: 9.
  script({
    items: (n) => Array.from({ length: n }, (_, i) => openItem(i)),
    judge: (_req, n) => (n < 3 ? 7 : n < 9 ? scoredAs([['c1', 'accuracy']], 5) : 9),
  });
  const result = await runExam('imperium');
  expect(result).toMatchObject({ status: 'passed', score: 80 });
  for (const item of await em().find(ExamItem, { examId: (result as CustodyExamResult).examId })) {
    expect(item.grading).toMatchObject({
      score: 80,
      spread: 20,
      runs: [{ score: 70 }, { score: null, error: expect.stringMatching(/c2 \(clarity\)/) }, { score: 90 }],
    });
  }
});

it('takes its pass mark and borderline margin from the rules it was planned under (CUSTODY_PASS_MARK, CUSTODY_BORDERLINE_MARGIN)', async () => {
  await resetAgent('imperium');
  // Score 75: borderline and passed by default; with pass mark 80 and margin 4 neither borderline nor passed.
  script({ items: (n) => Array.from({ length: n }, (_, i) => openItem(i)), judge: () => 7.5 });
  const result = await runExam('imperium', {}, { CUSTODY_PASS_MARK: '80', CUSTODY_BORDERLINE_MARGIN: '4' });
  expect(result).toMatchObject({ status: 'failed', score: 75 });
  const exam = await examOf(result);
  expect(exam).toMatchObject({ passMark: 80, borderline: false, rules: { passMark: 80, borderlineMargin: 4 } });
  expect(exam.steps.map((s) => s.step)).not.toContain('rejudge');
});

it.each([
  ['a correct', 'function add(a, b) { return a + b; }', 100, 3],
  ['an incorrect', 'function add(a, b) { return a - b; }', 0, 0],
])(
  'grades %s code answer by really running the hidden tests in the sandbox',
  async (_label, code, expectedScore, passedTests) => {
    await resetAgent('guardian');
    script({ items: () => [openItem(1), openItem(2), codeItem], judge: () => 10, code });
    const result = await runExam('guardian', { category: 'code_quality' });
    const items = await em().find(ExamItem, { examId: (result as CustodyExamResult).examId, kind: 'code' });
    expect(items).toHaveLength(1);
    const tests = items[0]?.grading?.runs[0]?.tests ?? [];
    expect(tests.filter((t) => t.passed)).toHaveLength(passedTests);
    expect(items[0]?.grading?.score).toBe(expectedScore);
  },
);

const FOLLOW_UP = 'Your previous answer did not give what this exam needs';
const examinerRequests = () => bed.fakes.openai.requests.filter((r) => r.prompt.includes(EXAMINER));

it('asks the examiner again for the code item it left out, and the exam completes with it', async () => {
  await resetAgent('guardian');
  // First answer: three open items, no code item. The follow-up names the missing code item and gets it.
  script({
    items: () => [],
    judge: () => 10,
    examiner: (req) => ({
      json: { items: req.prompt.includes(FOLLOW_UP) ? [codeItem] : [openItem(1), openItem(2), openItem(3)] },
    }),
  });
  const result = await runExam('guardian', { category: 'code_quality' });
  expect(result).toMatchObject({ status: 'passed', score: 100 });

  const asked = examinerRequests();
  expect(asked).toHaveLength(2);
  expect(asked[1]?.prompt).toMatch(/Write 1 exam item/);
  expect(asked[1]?.prompt).toContain(
    'Still missing: one item of kind "code" with "functionName" and at least 2 "tests"',
  );
  const items = await em().find(
    ExamItem,
    { examId: (result as CustodyExamResult).examId },
    { orderBy: { position: 'asc' } },
  );
  expect(items.map((i) => i.kind)).toEqual(['open', 'open', 'code']);
  expect(items[2]?.grading?.score).toBe(100);
});

it('ends the exam error naming the missing code item when the examiner never gives it, after two follow-ups', async () => {
  await resetAgent('guardian');
  // A code item without tests is not a code item: the follow-ups say why it was left out.
  const invalidCode = { kind: 'code', prompt: `Write a function without tests ${randomUUID()}`, functionName: 'f' };
  script({ items: (n) => [...Array.from({ length: n }, (_, i) => openItem(i)), invalidCode], judge: () => 10 });
  const result = await runExam('guardian', { category: 'code_quality' });
  expect(result).toBeInstanceOf(WorkflowFailedError);

  const asked = examinerRequests();
  expect(asked).toHaveLength(3);
  for (const req of asked.slice(1)) expect(req.prompt).toContain('left out: a code item with fewer than 2 "tests"');
  const exam = await em().findOneOrFail(Exam, { agentId: 'guardian' });
  expect(exam).toMatchObject({ status: 'error', score: null, outcome: null });
  expect(exam.error).toMatch(
    /ExamItemsInvalid: the examiner failed to give one item of kind "code" with "functionName" and at least 2 "tests" .* after 2 follow-up requests/,
  );
  expect(await em().count(ExamItem, { examId: exam.id })).toBe(2);
  expect(await agent('guardian')).toMatchObject({ xp: 0, examsTaken: 0 });
});

it('fails clearly when the examiner output does not fit the schema, even after the repair; nothing is half-written', async () => {
  await resetAgent('imperium');
  bed.fakes.reset();
  bed.fakes.openai.when(EXAMINER, { json: { items: [{ kind: 'essay', prompt: 'too short' }] } });
  const result = await runExam('imperium');
  expect(result).toBeInstanceOf(WorkflowFailedError);
  expect(bed.fakes.openai.requests).toHaveLength(2);
  const exam = await em().findOneOrFail(Exam, { agentId: 'imperium' });
  expect(exam.status).toBe('error');
  expect(exam.error).toMatch(/LlmBadOutput/);
  expect(await em().count(ExamItem, { examId: exam.id })).toBe(0);
  expect(await agent('imperium')).toMatchObject({ xp: 0, examsTaken: 0 });
});

it('resumes generating after a failure midway: the items already written are kept and only the missing ones are asked for again', async () => {
  await resetAgent('imperium');
  // Round 1 gives 3 items of which one is unusable (an open item without a rubric): 2 kept. Round 2 (asking for the
  // missing one) hits a provider error, so the attempt fails; the retry must ask for 1 item, not 3.
  let examinerCalls = 0;
  const round1 = [openItem(1), openItem(2), { kind: 'open', prompt: `An item without a rubric ${randomUUID()}` }];
  const examiner = (req: FakeRequest): FakeReply => {
    examinerCalls++;
    if (examinerCalls === 1) return { json: { items: round1 } };
    if (examinerCalls === 2) return { status: 500, message: 'examiner overloaded' };
    return {
      json: {
        items: Array.from({ length: Number(/Write (\d+) exam item/.exec(req.prompt)?.[1]) }, (_, i) =>
          openItem(10 + i),
        ),
      },
    };
  };
  script({ items: () => [], judge: () => 9, examiner });
  const result = await runExam('imperium');
  expect(result).toMatchObject({ status: 'passed' });
  const asked = bed.fakes.openai.requests
    .filter((r) => r.prompt.includes(EXAMINER))
    .map((r) => Number(/Write (\d+) exam item/.exec(r.prompt)?.[1]));
  expect(asked).toEqual([3, 1, 1]);
  const items = await em().find(ExamItem, { examId: (await examOf(result)).id }, { orderBy: { position: 'asc' } });
  expect(items.map((i) => i.prompt)).toEqual([
    round1[0]?.prompt,
    round1[1]?.prompt,
    expect.stringContaining('concept number 10'),
  ]);
});

it('fails clearly with no provider configured and applies nothing', async () => {
  await resetAgent('conquest');
  const result = await runExam('conquest', {}, { OPENAI_API_KEY: '', OPENAI_BASE_URL: '', LLM_PROFILE_PRIMARY: '' });
  expect(result).toBeInstanceOf(WorkflowFailedError);
  const exam = await em().findOneOrFail(Exam, { agentId: 'conquest' });
  expect(exam).toMatchObject({ status: 'error' });
  expect(exam.error).toMatch(/LlmNotConfigured.*OPENAI_API_KEY/);
  expect(await agent('conquest')).toMatchObject({ xp: 0, examsTaken: 0 });
});

it('skips a paused agent and records the skip', async () => {
  await resetAgent('sandbox', { status: 'paused' });
  const result = await runExam('sandbox', { trigger: 'schedule' });
  expect(result).toMatchObject({ status: 'skipped' });
  expect(await examOf(result)).toMatchObject({ status: 'skipped', error: expect.stringMatching(/paused/) });
  await resetAgent('sandbox');
});

it('records a scheduled exam that finds another exam of its agent running as skipped, naming it; it counts for nothing', async () => {
  await resetAgent('sandbox');
  const running = await storeExamPlan(
    em(),
    {
      agentId: 'sandbox',
      trigger: 'api',
      examId: randomUUID(),
      workflowId: custodyWorkflowId('sandbox', randomUUID()),
    },
    DEFAULT_RULES,
  );
  if ('refused' in running) throw new Error(running.message);
  const result = await runExam('sandbox', { trigger: 'schedule' });
  expect(result).toMatchObject({ status: 'skipped', reason: `another exam of sandbox is running: ${running.id}` });
  expect(await examOf(result)).toMatchObject({
    status: 'skipped',
    trigger: 'schedule',
    error: `another exam of sandbox is running: ${running.id}`,
    completedAt: expect.any(Date),
  });
  expect(await em().findOneOrFail(Exam, { id: running.id })).toMatchObject({ status: 'running' });
  expect(await agent('sandbox')).toMatchObject({ xp: 0, examsTaken: 0, examsFailed: 0, consecutiveFailures: 0 });
  await resetAgent('sandbox');
});

it('survives a worker stopped after the items are generated: a new worker finishes with no duplicate rows or charges', async () => {
  await resetAgent('imperium');
  script({ items: (n) => Array.from({ length: n }, (_, i) => openItem(i)), judge: () => 9 });
  // Slow answers, so the first worker is stopped while the exam is between generation and grading.
  bed.fakes.openai.when(ANSWERING, { text: 'A slow but complete answer.', delayMs: 1500 });
  const config = testConfig(bed.db.url, bed.fakes.env({ LLM_PROFILE_FALLBACK: '', ANTHROPIC_API_KEY: '' }));
  const first = await createTestWorker(config, bed.orm, { workflowsPath: WORKFLOWS });
  const workflowId = custodyWorkflowId('imperium', randomUUID());
  // As every production starter does, a heartbeat timeout: an answer attempt lost with the first worker is noticed in
  // 2 s (its start-to-close is the exam's whole time limit now that the time limit counts from each attempt).
  const args: CustodyExamInput = {
    agentId: 'imperium',
    trigger: 'api',
    timeouts: { ...TIMEOUTS, llmMs: 4000, heartbeatMs: 2000 },
  };
  await first.client.workflow.start(CUSTODY_EXAM_WORKFLOW, { args: [args], taskQueue: first.taskQueue, workflowId });
  await first.run(async () => {
    for (;;) {
      const exam = await em().findOne(Exam, { workflowId });
      if (exam !== null && (await em().count(ExamItem, { examId: exam.id })) > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  await first.close();
  const planned = await em().findOneOrFail(Exam, { workflowId });
  expect(await em().count(ExamItem, { examId: planned.id, grading: { $ne: null } })).toBe(0);

  const second = await createTestWorker(config, bed.orm, { workflowsPath: WORKFLOWS, taskQueue: first.taskQueue });
  try {
    const result = await second.run(() => second.client.workflow.getHandle(workflowId).result());
    expect(result).toMatchObject({ status: 'passed', score: 90 });
  } finally {
    await second.close();
  }
  const exam = await em().findOneOrFail(Exam, { workflowId });
  expect(await em().count(ExamItem, { examId: exam.id })).toBe(3);
  const generated = await em().count(TokenUsageEvent, { workflowId, purpose: 'exam.generate' });
  expect(generated).toBe(1);
  expect(bed.fakes.openai.requests.filter((r) => r.prompt.includes(EXAMINER))).toHaveLength(1);
  expect(await agent('imperium')).toMatchObject({ xp: 50, examsTaken: 1 });
});
