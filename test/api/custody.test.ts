import { randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { defaultPayloadConverter } from '@temporalio/common';
import { startTestApi, type TestApi } from '../helpers/api';
import { testConfig } from '../helpers/config';
import { useLlmTestBed } from '../helpers/llm';
import { createTestWorker, type TestWorker } from '../helpers/worker';

const bed = useLlmTestBed();
const TASK_QUEUE = `api-custody-${randomBytes(4).toString('hex')}`;
let api: TestApi;
let worker: TestWorker;
let viewer: string;
let operator: string;

beforeAll(async () => {
  const config = testConfig(
    bed.db.url,
    bed.fakes.env({
      LLM_PROFILE_FALLBACK: '',
      ANTHROPIC_API_KEY: '',
      TEMPORAL_TASK_QUEUE: TASK_QUEUE,
      RATE_LIMIT_MAX: '10000',
    }),
  );
  api = await startTestApi(config);
  worker = await createTestWorker(config, bed.orm, {
    workflowsPath: require.resolve('../../workflows'),
    taskQueue: TASK_QUEUE,
  });
  [viewer, operator] = await Promise.all([api.key('viewer'), api.key('operator', 'ops')]);
  worker.start();
});
afterAll(async () => {
  await worker.close();
  await api.close();
});

const RUBRIC = [{ name: 'accuracy', weight: 1, description: 'Is it correct?' }];

it('starts an exam (202), reports it through /workflows/:id, and serves the graded exam, eligibility and skills', async () => {
  bed.fakes.openai.when('rigorous examiner', (req) => ({
    json: {
      items: Array.from({ length: Number(/Write (\d+) exam item/.exec(req.prompt)?.[1] ?? 3) }, (_, i) => ({
        kind: 'open',
        prompt: `Question ${i} ${randomUUID()} about knowledge.`,
        rubric: RUBRIC,
      })),
    },
  }));
  bed.fakes.openai.when('You are taking an exam', { text: 'An answer.' });
  bed.fakes.openai.when('strict, fair judge', { json: { criteria: [{ id: 'c1', score: 8, reason: 'mostly right' }] } });

  const before = await api.request('GET', '/api/custody/eligibility/imperium', { key: viewer });
  expect(before.body).toMatchObject({ eligible: false, reasons: [expect.stringMatching(/never passed/)] });

  const started = await api.request('POST', '/api/custody/tests', {
    key: operator,
    body: { agentId: 'imperium', category: 'self_improvement' },
  });
  expect(started.status).toBe(202);
  const { workflowId, statusUrl } = started.body as { workflowId: string; statusUrl: string };
  expect(workflowId).toMatch(/^custody-imperium-[0-9a-f-]{36}$/);

  const status = await (async () => {
    for (;;) {
      const res = await api.request('GET', statusUrl, { key: viewer });
      const body = res.body as { status: string; progress: { step: string } | null };
      if (body.status !== 'RUNNING') return body;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  expect(status).toMatchObject({ status: 'COMPLETED', type: 'custodyExamWorkflow' });

  // The route gave the workflow its activity timeouts from config: LLM steps 4 × LLM_TIMEOUT_SECONDS + 30 s, a 30 s
  // heartbeat timeout (ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS), as Temporal recorded them on the scheduled activities.
  const history = await worker.client.workflow.getHandle(workflowId).fetchHistory();
  const [input] = (history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? []).map((p) =>
    defaultPayloadConverter.fromPayload(p),
  ) as Array<{ timeouts?: unknown }>;
  expect(input?.timeouts).toEqual({ llmMs: 270_000, sandboxMs: 90_000, scanMs: 540_000, heartbeatMs: 30_000 });
  const generate = history.events?.find(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'custodyGenerateItems',
  )?.activityTaskScheduledEventAttributes;
  expect(Number(generate?.startToCloseTimeout?.seconds)).toBe(270);
  expect(Number(generate?.heartbeatTimeout?.seconds)).toBe(30);

  const exam = await api.request('GET', `/api/custody/tests/${workflowId}`, { key: viewer });
  expect(exam.status).toBe(200);
  expect(exam.body).toMatchObject({
    agentId: 'imperium',
    category: 'self_improvement',
    status: 'passed',
    score: 80,
    requestedBy: 'ops',
    items: [
      {
        kind: 'open',
        answer: 'An answer.',
        answerMs: expect.any(Number),
        answerTimedOutAt: null,
        score: 80,
        gradings: [{ criteria: [{ id: 'c1', name: 'accuracy', score: 8, reason: 'mostly right' }] }],
      },
      {},
      {},
    ],
  });
  expect((exam.body as { usage: { calls: number } }).usage.calls).toBe(7);

  const list = await api.request('GET', '/api/custody/tests?agentId=imperium', { key: viewer });
  expect(list.body).toMatchObject({ items: [{ workflowId, status: 'passed' }], page: { total: 1 } });
  const after = await api.request('GET', '/api/custody/eligibility/imperium', { key: viewer });
  expect(after.body).toMatchObject({ eligible: true });
  const skills = await api.request('GET', '/api/enhanced-learning/skills/imperium', { key: viewer });
  const self = (skills.body as { skills: Array<{ category: string; exams: number; history: unknown[] }> }).skills.find(
    (s) => s.category === 'self_improvement',
  );
  expect(self).toMatchObject({ exams: 1, history: [{ score: 80, ratingBefore: 1200 }] });
  const board = await api.request('GET', '/api/custody/leaderboard', { key: viewer });
  expect((board.body as { items: Array<{ agentId: string; xp: number }> }).items[0]).toMatchObject({
    agentId: 'imperium',
    xp: 50,
    passRate: 1,
  });
});

it('answers 409 when the agent already has an exam running, 400 for a category it does not take, 403 for a viewer', async () => {
  await (bed.orm.em.fork() as EntityManager).execute(
    `insert into exams (id, workflow_id, agent_id, category, difficulty, olympus, exam_number, pass_mark, time_limit_seconds, item_count, trigger, status, steps, borderline, started_at)
     values (?, ?, 'conquest', 'code_quality', 'basic', false, 1, 70, 300, 3, 'api', 'running', '[]', false, now())`,
    [randomUUID(), `running-${randomUUID()}`],
  );
  expect(
    (await api.request('POST', '/api/custody/tests', { key: operator, body: { agentId: 'conquest' } })).status,
  ).toBe(409);
  const wrong = await api.request('POST', '/api/custody/tests', {
    key: operator,
    body: { agentId: 'guardian', category: 'self_improvement' },
  });
  expect(wrong.status).toBe(400);
  expect(wrong.body).toMatchObject({ error: { details: [{ field: 'category' }] } });
  expect((await api.request('POST', '/api/custody/tests', { key: viewer, body: { agentId: 'guardian' } })).status).toBe(
    403,
  );
  expect((await api.request('GET', '/api/custody/tests/no-such-exam', { key: viewer })).status).toBe(404);
  expect((await api.request('GET', '/api/workflows/no-such-workflow', { key: viewer })).status).toBe(404);
});

it('filters the exam list by Olympus (true / false), with the other filters, and refuses a value that is not a boolean', async () => {
  const insert = (agentId: string, olympus: boolean) =>
    (bed.orm.em.fork() as EntityManager).execute(
      `insert into exams (id, workflow_id, agent_id, category, difficulty, olympus, exam_number, pass_mark, time_limit_seconds, item_count, trigger, status, steps, borderline, started_at, completed_at)
       values (?, ?, ?, 'code_quality', 'basic', ?, 1, 70, 300, 3, 'api', 'error', '[]', false, now(), now())`,
      [randomUUID(), `olympus-filter-${randomUUID()}`, agentId, olympus],
    );
  await insert('sandbox', true);
  await insert('sandbox', false);
  await insert('guardian', true);
  const list = async (query: string) =>
    (
      (await api.request('GET', `/api/custody/tests?category=code_quality&status=error&${query}`, { key: viewer }))
        .body as { items: Array<{ agentId: string; olympus: boolean }> }
    ).items;
  expect((await list('olympus=true')).map((e) => [e.agentId, e.olympus]).sort()).toEqual([
    ['guardian', true],
    ['sandbox', true],
  ]);
  expect((await list('olympus=false')).map((e) => [e.agentId, e.olympus])).toEqual([['sandbox', false]]);
  expect((await list('olympus=true&agentId=sandbox')).map((e) => [e.agentId, e.olympus])).toEqual([['sandbox', true]]);
  expect(await list('')).toHaveLength(3);
  const bad = await api.request('GET', '/api/custody/tests?olympus=maybe', { key: viewer });
  expect(bad.status).toBe(400);
  expect(bad.body).toMatchObject({ error: { details: [{ field: 'olympus' }] } });
  // Documented from the same zod schema the route parses.
  const openapi = (await api.request('GET', '/api/openapi.json', { key: viewer })).body as {
    paths: Record<string, { get?: { parameters?: Array<{ name: string; in: string; required?: boolean }> } }>;
  };
  expect(openapi.paths['/api/custody/tests']?.get?.parameters).toContainEqual(
    expect.objectContaining({ name: 'olympus', in: 'query', required: false }),
  );
});

it('describes the categories and difficulties with their numbers', async () => {
  const res = await api.request('GET', '/api/custody/categories', { key: viewer });
  expect(res.body).toMatchObject({
    categories: expect.arrayContaining([
      { id: 'code_quality', agents: ['guardian', 'sandbox', 'conquest'], requiresCodeItem: true },
    ]),
    difficulties: expect.arrayContaining([
      { id: 'intermediate', fromLevel: 10, timeLimitSeconds: 600, items: 3, xpMultiplier: 1.5, rating: 1200 },
    ]),
  });
});

it('two concurrent starts for one agent: one 202 whose exam is recorded at once and finishes, one 409 naming it', async () => {
  bed.fakes.openai.when('rigorous examiner', (req) => ({
    json: {
      items: Array.from({ length: Number(/Write (\d+) exam item/.exec(req.prompt)?.[1] ?? 3) }, (_, i) => ({
        kind: 'open',
        prompt: `Question ${i} ${randomUUID()} about knowledge.`,
        rubric: RUBRIC,
      })),
    },
  }));
  bed.fakes.openai.when('You are taking an exam', { text: 'An answer.' });
  bed.fakes.openai.when('strict, fair judge', { json: { criteria: [{ id: 'c1', score: 8, reason: 'mostly right' }] } });

  const start = () =>
    api.request('POST', '/api/custody/tests', {
      key: operator,
      body: { agentId: 'imperium', category: 'knowledge_verification' },
    });
  const both = await Promise.all([start(), start()]);
  expect(both.map((r) => r.status).sort()).toEqual([202, 409]);
  const accepted = both.find((r) => r.status === 202)?.body as { workflowId: string; examUrl: string };
  const refused = both.find((r) => r.status === 409)?.body as { error: { details: { workflowId: string } } };
  expect(refused.error.details.workflowId).toBe(accepted.workflowId);
  expect((await api.request('GET', accepted.examUrl, { key: viewer })).status).toBe(200);

  const exam = await (async () => {
    for (;;) {
      const res = await api.request('GET', accepted.examUrl, { key: viewer });
      const body = res.body as { status: string };
      if (body.status !== 'running') return body;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  expect(exam).toMatchObject({
    agentId: 'imperium',
    category: 'knowledge_verification',
    status: 'passed',
    error: null,
  });
  const rows = await (bed.orm.em.fork() as EntityManager).execute(
    `select status from exams where agent_id = 'imperium' and category = 'knowledge_verification'`,
  );
  expect(rows).toEqual([{ status: 'passed' }]);
});

it('gives a legendary exam its whole hour to answer: each answer attempt may run the time limit, with no window an outage could use up', async () => {
  bed.fakes.openai.when('rigorous examiner', (req) => ({
    json: {
      items: Array.from({ length: Number(/Write (\d+) exam item/.exec(req.prompt)?.[1] ?? 3) }, (_, i) => ({
        kind: 'open',
        prompt: `Legend ${i} ${randomUUID()}.`,
        rubric: RUBRIC,
      })),
    },
  }));
  bed.fakes.openai.when('You are taking an exam', { text: 'An answer.' });
  bed.fakes.openai.when('strict, fair judge', { json: { criteria: [{ id: 'c1', score: 8, reason: 'fine' }] } });
  const em = bed.orm.em.fork() as EntityManager;
  await em.getConnection().execute(`update agents set level = 50, xp = 122500 where id = 'guardian'`);
  const started = await api.request('POST', '/api/custody/tests', {
    key: operator,
    body: { agentId: 'guardian', category: 'security_awareness' },
  });
  expect(started.status).toBe(202);
  const { workflowId } = started.body as { workflowId: string };
  const handle = worker.client.workflow.getHandle(workflowId);
  await handle.result().catch(() => undefined);
  const history = await handle.fetchHistory();
  const answer = history.events?.find(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'custodyAnswerItem',
  )?.activityTaskScheduledEventAttributes;
  expect(answer).toBeDefined();
  // Legendary: 3600 s (ARCHITECTURE §3.1), plus a DB step's 30 s for the reads and the write around the call. It was a
  // schedule-to-close window of min(time limit, 6 × the LLM activity timeout) = 1620 s by default, then of 3600 s.
  expect(Number(answer?.startToCloseTimeout?.seconds)).toBe(3630);
  // No window of its own: the server bounds it by the workflow's execution timeout only.
  const run = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowExecutionTimeout;
  expect(Number(answer?.scheduleToCloseTimeout?.seconds)).toBe(Number(run?.seconds));
  const exam = await api.request('GET', `/api/custody/tests/${workflowId}`, { key: viewer });
  expect(exam.body).toMatchObject({ difficulty: 'legendary', timeLimitSeconds: 3600 });
});
