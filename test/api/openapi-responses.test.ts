import { randomBytes, randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { mountedRouters, routesOf, type OpenApiDocument, type RouteEntry } from '../../src/api/openapi/generate';
import {
  AgentSkillRating,
  ExamItem,
  Finding,
  KnowledgeNote,
  Notification,
  PerformanceSample,
  ProposalEvent,
  Repository,
  SkillRatingEvent,
  TokenUsageEvent,
} from '../../src/db/entities';
import { budgetMonth } from '../../src/domain/llm';
import { createLogger } from '../../src/logger';
import { scheduleDefinitions } from '../../src/temporal/schedule-definitions';
import { syncSchedules } from '../../src/temporal/schedules';
import { startTestApi, type TestApi, type TestResponse } from '../helpers/api';
import { testConfig } from '../helpers/config';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { requiredTestEnv, TEST_ENV } from '../helpers/env';
import { seedExam, seedLedger, seedProposal, seedRun } from '../helpers/seed';
import { connectSse } from '../helpers/sse';

/**
 * Every operation of the OpenAPI document, called through the real app (database, Temporal, full middleware), its
 * success answer checked against what the document declares: the JSON Schema of the document (ajv, draft 2020-12; an
 * undeclared field fails, objects being closed) and the zod schema of the route's doc(). An operation without a
 * declared schema, or one this file never called, fails. Workflows are started on a task queue no worker polls: their
 * 202 answers are what is checked of them.
 */

let db: TestDatabase;
let api: TestApi;
let document: OpenApiDocument;
let routes: RouteEntry[];
let connection: Connection;
let temporal: Client;
let viewer: string;
let operator: string;
let admin: string;
const ajv = addFormats(new Ajv2020({ strict: true, allErrors: true }));
const covered = new Set<string>();
const TASK_QUEUE = `idle-${randomBytes(4).toString('hex')}`;
const seeded: Record<string, string> = {};

/** `GET /api/agents/{id}` → the document's operation and the route's doc(). */
function operationOf(op: string) {
  const [method = '', path = ''] = op.split(' ');
  const operation = document.paths[path]?.[method.toLowerCase()];
  const route = routes.find((r) => r.method === method && r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}') === path);
  if (operation === undefined || route === undefined) throw new Error(`${op} is not in the document`);
  return { operation, route };
}

/** `schema` with its `#/components/schemas/…` references resolved against the document's components (added to ajv once). */
const COMPONENTS = 'https://lvlup.test/components';
function withComponents<T>(schema: T): T {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', `"${COMPONENTS}#/$defs/`)) as T;
}

/** The body's problems against the operation's declared `status` answer (both schemas); [] when it conforms. */
function problems(op: string, status: number, body: unknown): string[] {
  const { operation, route } = operationOf(op);
  const declared = operation.responses[String(status)] as { content?: Record<string, { schema?: object }> } | undefined;
  const schema = declared?.content?.['application/json']?.schema;
  const zodSchema = route.doc?.responses?.[status]?.schema;
  if (schema === undefined || zodSchema === undefined) return [`${op} declares no JSON schema for ${status}`];
  const validate = ajv.compile(withComponents(schema));
  const out = validate(body)
    ? []
    : (validate.errors ?? []).map(
        (e) => `JSON Schema: ${e.instancePath || '(body)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
      );
  const parsed = zodSchema.safeParse(body);
  if (!parsed.success) out.push(...parsed.error.issues.map((i) => `zod: ${i.path.join('.') || '(body)'} ${i.message}`));
  return out;
}

/** Calls `op` (path parameters from `params`) and checks its answer is `status` with a body the document declares. */
async function call(
  op: string,
  opts: { key?: string; params?: Record<string, string>; query?: string; body?: unknown; status?: number } = {},
): Promise<TestResponse> {
  const [method = '', template = ''] = op.split(' ');
  const path = template.replace(/\{([A-Za-z0-9_]+)\}/g, (_m, name: string) =>
    encodeURIComponent(opts.params?.[name] ?? `missing-${name}`),
  );
  const res = await api.request(method, path + (opts.query ?? ''), { key: opts.key, body: opts.body });
  const status = opts.status ?? 200;
  expect({ op, status: res.status, body: res.status === status ? undefined : res.body }).toEqual({
    op,
    status,
    body: undefined,
  });
  expect(problems(op, status, res.body)).toEqual([]);
  covered.add(op);
  return res;
}

/** A non-JSON answer: checks its content type is the one the document declares. */
async function callText(op: string, mediaType: string): Promise<void> {
  const [method = '', path = ''] = op.split(' ');
  const res = await api.request(method, path);
  expect(res.status).toBe(200);
  expect(Object.keys((operationOf(op).operation.responses['200'] as { content: object }).content)).toEqual([mediaType]);
  expect(res.headers.get('content-type')).toContain(mediaType);
  covered.add(op);
}

beforeAll(async () => {
  db = await createTestDatabase();
  const config = testConfig(db.url, {
    TEMPORAL_TASK_QUEUE: TASK_QUEUE,
    RATE_LIMIT_MAX: '10000',
    DATA_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    // A configured provider (never called here: no worker runs the workflows), for the model routes and exam plans.
    OPENAI_API_KEY: 'sk-test',
    OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
    LLM_PROFILE_PRIMARY: 'openai:gpt-4o-mini',
  });
  api = await startTestApi(config);
  connection = await Connection.connect({ address: requiredTestEnv(TEST_ENV.temporalAddress) });
  temporal = new Client({ connection });
  [viewer, operator, admin] = await Promise.all([api.key('viewer'), api.key('operator', 'ops'), api.key('admin')]);
  routes = routesOf(mountedRouters(api.app));
  document = (await api.request('GET', '/api/openapi.json', { key: viewer })).body as OpenApiDocument;
  ajv.addSchema({ $id: COMPONENTS, $defs: withComponents((document.components as { schemas: object }).schemas) });
  await seed(config);
}, 60_000);

afterAll(async () => {
  await temporal.schedule
    .getHandle('guardian-scan')
    .delete()
    .catch(() => undefined);
  await connection.close();
  await api.close();
  await db.drop();
});

/** Rows for every list and detail to show, with their JSON fields filled, so item schemas are exercised too. */
async function seed(config: ReturnType<typeof testConfig>): Promise<void> {
  const em = api.orm.em.fork();
  const repository = new Repository({ name: 'example', path: `/tmp/example-${randomUUID()}`, testCmd: 'npm test' });
  await em.persistAndFlush(repository);

  const exam = await seedExam(em, { agentId: 'guardian', status: 'passed', completedAt: new Date(), levels: [1, 2] });
  exam.rules = { passMark: 70, xpMultipliers: config.rules.xpMultipliers };
  exam.steps = [
    { step: 'planned', at: new Date().toISOString() },
    { step: 'graded', at: new Date().toISOString(), detail: 'score 80' },
  ];
  exam.models = {
    examiner: 'openai:gpt-4o',
    answerer: 'openai:gpt-4o-mini',
    judge: 'anthropic:claude',
    auditJudge: null,
    judgeIndependence: 'independent_provider',
    examinerIndependence: 'different_model',
  };
  exam.judgeIndependence = 'independent_provider';
  const open = new ExamItem({
    examId: exam.id,
    position: 1,
    kind: 'open',
    prompt: 'Explain CSRF.',
    normalizedPrompt: 'explain csrf',
    rubric: [{ id: 'c1', name: 'accuracy', weight: 1, description: 'is it right' }],
    hiddenTests: null,
  });
  Object.assign(open, {
    answer: 'A forged cross-site request.',
    answeredAt: new Date(),
    answerMs: 1200,
    gradedAt: new Date(),
    grading: {
      runs: [{ score: 80, criteria: [{ id: 'c1', name: 'accuracy', weight: 1, score: 80, reason: 'right' }] }],
      score: 80,
      spread: 0,
    },
  });
  const code = new ExamItem({
    examId: exam.id,
    position: 2,
    kind: 'code',
    prompt: 'Write add(a, b).',
    normalizedPrompt: 'write add',
    rubric: null,
    hiddenTests: { functionName: 'add', cases: [{ args: [1, 2], expected: 3 }] },
  });
  Object.assign(code, {
    answer: 'function add(a, b) { return a + b; }',
    answeredAt: new Date(),
    answerMs: 900,
    gradedAt: new Date(),
    grading: {
      runs: [{ score: 100, tests: [{ args: [1, 2], expected: 3, actual: 3, passed: true }] }],
      score: 100,
      spread: 0,
    },
  });
  em.persist([open, code]);
  await seedLedger(em, [
    { at: new Date(), agentId: 'guardian', provider: 'openai', inputTokens: 100, outputTokens: 20, costUsd: 0.001 },
  ]);
  const examCall = new TokenUsageEvent({
    at: new Date(),
    month: budgetMonth(new Date()),
    agentId: 'guardian',
    purpose: 'custody.answer',
    provider: 'openai',
    model: 'gpt-4o-mini',
    workflowId: exam.workflowId,
    activityId: '1',
    attempt: 1,
    inputTokens: 50,
    outputTokens: 10,
    costUsd: null,
    latencyMs: 300,
    outcome: 'ok',
    cacheHit: false,
    error: null,
  });
  examCall.costUnknown = true;
  em.persist(examCall);
  await em.upsert(AgentSkillRating, {
    agentId: 'guardian',
    category: 'code_quality',
    rating: 1216,
    examsCount: 1,
    updatedAt: new Date(),
  });
  em.persist(
    new SkillRatingEvent({
      agentId: 'guardian',
      category: 'code_quality',
      examId: exam.id,
      score: 80,
      ratingBefore: 1200,
      ratingAfter: 1216,
    }),
  );
  seeded.examId = exam.id;

  for (const kind of ['guardian_scan', 'sandbox_experiment', 'conquest_analysis', 'learning_cycle'] as const) {
    const run = await seedRun(em, {
      agentId: 'imperium',
      kind,
      status: 'completed',
      startedAt: new Date(Date.now() - 120_000),
    });
    Object.assign(run, {
      summary: { findings: 1 },
      steps: [{ step: 'scan', at: new Date().toISOString(), detail: 'ok' }],
      isolation: 'process',
      commit: 'abc123',
    });
    seeded[kind] = run.workflowId;
  }

  const finding = new Finding({
    repositoryId: repository.id,
    agentId: 'guardian',
    kind: 'security',
    tool: 'semgrep',
    rule: 'no-eval',
    severity: 'high',
    title: 'eval of user input',
    message: 'eval() on request data',
    file: 'src/app.ts',
    line: 3,
    fingerprint: randomBytes(16).toString('hex'),
    firstRunId: randomUUID(),
  });
  finding.triage = {
    verdict: 'true_positive',
    severity: 'high',
    explanation: 'reachable',
    suggestedFix: null,
    provider: 'openai',
    model: 'gpt-4o-mini',
    at: new Date().toISOString(),
  };
  em.persist(finding);
  seeded.findingId = finding.id;

  em.persist(
    new PerformanceSample({
      repositoryId: repository.id,
      runId: randomUUID(),
      commit: 'abc123',
      name: 'bench:parse',
      source: 'bench',
      ms: 12.5,
    }),
  );
  em.persist(
    new KnowledgeNote({
      agentId: 'imperium',
      category: 'knowledge_verification',
      title: 'Idempotent retries',
      body: 'Retries must not pay twice.',
      sources: [{ kind: 'exam', ref: exam.id }],
    }),
  );
  const notification = new Notification({
    kind: 'level_up',
    title: 'Guardian reached level 2',
    message: 'level 2',
    priority: 'high',
    data: { agentId: 'guardian', level: 2 },
  });
  em.persist(notification);
  em.persist(
    new Notification({
      kind: 'weekly_report',
      title: 'Weekly report',
      message: 'the week',
      data: { weekStart: '2026-11-23', exams: 3 },
    }),
  );
  seeded.notificationId = notification.id;

  const proposal = await seedProposal(em, {
    agentId: 'guardian',
    status: 'applied',
    completedAt: new Date(),
    review: { decision: 'approve', at: new Date() },
  });
  Object.assign(proposal, {
    title: 'Escape input',
    diff: '--- a/x\n+++ b/x\n',
    changedFiles: ['x'],
    changedLines: 2,
    validation: { ok: true },
    guardianReview: { model: { concerns: [] } },
  });
  em.persist(new ProposalEvent({ proposalId: proposal.id, seq: 1, state: 'drafting', detail: null, data: {} }));
  seeded.proposalId = proposal.id;
  await em.flush();
}

describe('system', () => {
  it('/healthz, /readyz, /console-config.json, /metrics, /docs', async () => {
    await call('GET /healthz');
    await call('GET /readyz');
    await call('GET /console-config.json');
    await callText('GET /metrics', 'text/plain');
    await callText('GET /docs', 'text/html');
  });

  it('/api/system, /api/me, /api/openapi.json', async () => {
    await call('GET /api/system', { key: viewer });
    await call('GET /api/me', { key: operator });
    await call('GET /api/openapi.json', { key: viewer });
  });
});

describe('agents', () => {
  it('lists, reads, pauses, resumes and sets and clears the model', async () => {
    const list = await call('GET /api/agents', { key: viewer });
    expect((list.body as { items: unknown[] }).items).toHaveLength(4);
    await call('GET /api/agents/{id}', { key: viewer, params: { id: 'guardian' } });
    await call('POST /api/agents/{id}/pause', {
      key: operator,
      params: { id: 'sandbox' },
      body: { reason: 'maintenance' },
    });
    await call('POST /api/agents/{id}/resume', { key: operator, params: { id: 'sandbox' } });
    await call('PUT /api/agents/{id}/model', {
      key: admin,
      params: { id: 'sandbox' },
      body: { provider: 'openai', model: 'gpt-4o' },
    });
    await call('DELETE /api/agents/{id}/model', { key: admin, params: { id: 'sandbox' } });
  });
});

describe('custody', () => {
  it('reads the exams (the detail with its items, gradings and usage), eligibility, leaderboard, categories, rules, judges', async () => {
    await call('GET /api/custody/tests', { key: viewer });
    const exam = await call('GET /api/custody/tests/{id}', { key: viewer, params: { id: seeded.examId ?? '' } });
    expect(exam.body).toMatchObject({
      items: [
        { kind: 'open', gradings: [{ criteria: [{ name: 'accuracy' }] }] },
        { kind: 'code', hiddenTests: { functionName: 'add' } },
      ],
      usage: { calls: 1 },
    });
    await call('GET /api/custody/eligibility/{agentId}', { key: viewer, params: { agentId: 'guardian' } });
    const leaders = await call('GET /api/custody/leaderboard', { key: viewer });
    expect(
      (leaders.body as { items: Array<{ averageRating: number | null }> }).items.some((i) => i.averageRating !== null),
    ).toBe(true);
    await call('GET /api/custody/categories', { key: viewer });
    await call('GET /api/custody/rules', { key: viewer });
    await call('GET /api/custody/judges', { key: viewer });
  });

  it('starts an exam (202)', async () => {
    await call('POST /api/custody/tests', { key: operator, body: { agentId: 'conquest' }, status: 202 });
  });
});

describe('enhanced learning, KPIs, token usage', () => {
  it('reads skills and regressions', async () => {
    const skills = await call('GET /api/enhanced-learning/skills/{agentId}', {
      key: viewer,
      params: { agentId: 'guardian' },
    });
    expect(JSON.stringify(skills.body)).toContain('ratingAfter');
    await call('GET /api/enhanced-learning/regressions', { key: viewer });
  });

  it('measures the KPIs', async () => {
    await call('GET /api/kpis', { key: viewer });
  });

  it('reads the summary, the ledger and the budgets, and sets one', async () => {
    await call('PUT /api/token-usage/budgets/{scope}', {
      key: admin,
      params: { scope: 'agent:guardian' },
      body: { monthlyTokens: 1_000_000, monthlyUsd: 10 },
    });
    await call('GET /api/token-usage/summary', { key: viewer });
    const events = await call('GET /api/token-usage/events', { key: viewer });
    expect((events.body as { items: unknown[] }).items.length).toBeGreaterThanOrEqual(2);
    await call('GET /api/token-usage/budgets', { key: viewer });
  });
});

describe('agent runs', () => {
  it('Guardian: scans and findings; a finding dismissed', async () => {
    await call('POST /api/guardian/scans', { key: operator, status: 202 });
    await call('GET /api/guardian/scans', { key: viewer });
    const findings = await call('GET /api/guardian/findings', { key: viewer });
    expect((findings.body as { items: unknown[] }).items).toHaveLength(1);
    await call('POST /api/guardian/findings/{id}/dismiss', {
      key: operator,
      params: { id: seeded.findingId ?? '' },
      body: { reason: 'test data' },
    });
  });

  it('Sandbox: experiments', async () => {
    await call('POST /api/sandbox/experiments', { key: operator, status: 202 });
    await call('GET /api/sandbox/experiments', { key: viewer });
    await call('GET /api/sandbox/experiments/{id}', { key: viewer, params: { id: seeded.sandbox_experiment ?? '' } });
  });

  it('Conquest: analyses and performance', async () => {
    await call('POST /api/conquest/analyses', { key: operator, status: 202 });
    await call('GET /api/conquest/analyses', { key: viewer });
    const performance = await call('GET /api/conquest/performance', { key: viewer });
    expect((performance.body as { measures: unknown[] }).measures).toHaveLength(1);
  });

  it('Imperium: cycles and knowledge', async () => {
    await call('POST /api/imperium/cycles', { key: operator, status: 202 });
    await call('GET /api/imperium/cycles', { key: viewer });
    await call('GET /api/imperium/cycles/{id}', { key: viewer, params: { id: seeded.learning_cycle ?? '' } });
    const notes = await call('GET /api/imperium/knowledge', { key: viewer, query: '?q=retries' });
    expect((notes.body as { items: Array<{ rank: number | null }> }).items[0]?.rank).not.toBeNull();
  });
});

describe('workflows', () => {
  it('reads a started workflow and opens its event stream', async () => {
    const started = await call('POST /api/reports/weekly', { key: operator, body: {}, status: 202 });
    const { workflowId } = started.body as { workflowId: string };
    await call('GET /api/workflows/{id}', { key: viewer, params: { id: workflowId } });
    const stream = await connectSse(`${api.url}/api/workflows/${encodeURIComponent(workflowId)}/events`, {
      key: viewer,
    });
    stream.close();
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(
      Object.keys(
        (operationOf('GET /api/workflows/{id}/events').operation.responses['200'] as { content: object }).content,
      ),
    ).toEqual(['text/event-stream']);
    covered.add('GET /api/workflows/{id}/events');
    await call('GET /api/reports/weekly', { key: viewer });
  });
});

describe('notifications', () => {
  it('lists, streams (each event a notification as the list shows it), marks one and all read', async () => {
    await call('GET /api/notifications', { key: viewer });
    const stream = await connectSse(`${api.url}/api/notifications/stream?lastEventId=0`, { key: viewer });
    const event = await stream.nextEvent(10_000);
    stream.close();
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(event?.event).toBe('notification');
    expect(problems('POST /api/notifications/{id}/read', 200, event?.data)).toEqual([]);
    covered.add('GET /api/notifications/stream');
    await call('POST /api/notifications/{id}/read', { key: operator, params: { id: seeded.notificationId ?? '' } });
    await call('POST /api/notifications/read-all', { key: operator });
  });
});

describe('proposals', () => {
  it('lists, reads, requests one (202) and answers a repeated review', async () => {
    await call('GET /api/proposals', { key: viewer });
    const proposal = await call('GET /api/proposals/{id}', { key: viewer, params: { id: seeded.proposalId ?? '' } });
    expect(proposal.body).toMatchObject({ guardianModelReview: 'passed', timeline: [{ seq: 1 }] });
    await call('POST /api/proposals', {
      key: operator,
      body: { agentId: 'imperium', goal: 'document the retries' },
      status: 202,
    });
    await call('POST /api/proposals/{id}/review', {
      key: operator,
      params: { id: seeded.proposalId ?? '' },
      body: { decision: 'approve' },
    });
  });
});

describe('schedules', () => {
  it('lists them, pauses, unpauses and triggers one', async () => {
    const definitions = scheduleDefinitions(testConfig(db.url, { TEMPORAL_TASK_QUEUE: TASK_QUEUE })).filter(
      (d) => d.id === 'guardian-scan',
    );
    await syncSchedules(temporal, definitions, {
      catchupWindowSeconds: 60,
      logger: createLogger({ level: 'error', format: 'json' }),
    });
    const list = await call('GET /api/schedules', { key: viewer });
    expect((list.body as { items: Array<{ exists: boolean }> }).items.filter((i) => i.exists)).toHaveLength(1);
    await call('POST /api/schedules/{id}/pause', {
      key: operator,
      params: { id: 'guardian-scan' },
      body: { reason: 'test' },
    });
    await call('POST /api/schedules/{id}/unpause', { key: operator, params: { id: 'guardian-scan' } });
    await call('POST /api/schedules/{id}/trigger', { key: operator, params: { id: 'guardian-scan' } });
  });
});

describe('settings', () => {
  it('the webhook and the target credentials: read, set, clear', async () => {
    await call('GET /api/settings/webhook', { key: admin });
    await call('PUT /api/settings/webhook', {
      key: admin,
      body: { url: 'https://hooks.example.test/lvlup', secret: 'a-secret-of-16-chars' },
    });
    await call('DELETE /api/settings/webhook', { key: admin });
    await call('GET /api/settings/target-credentials', { key: admin });
    await call('PUT /api/settings/target-credentials', { key: admin, body: { token: 'ghp_example', username: 'bot' } });
    await call('DELETE /api/settings/target-credentials', { key: admin });
  });
});

describe('audit', () => {
  it('lists the audit log, filtered', async () => {
    const all = await call('GET /api/audit', { key: admin });
    expect((all.body as { items: unknown[] }).items.length).toBeGreaterThan(0);
    await call('GET /api/audit', { key: admin, query: '?method=put&path=/api/settings&limit=5' });
  });
});

describe('the check itself', () => {
  it('rejects an undeclared field, a missing field and a wrong type (JSON Schema and zod alike)', async () => {
    const agent = (await api.request('GET', '/api/agents/guardian', { key: viewer })).body as Record<string, unknown>;
    expect(problems('GET /api/agents/{id}', 200, agent)).toEqual([]);
    expect(problems('GET /api/agents/{id}', 200, { ...agent, secret: 'x' })).toEqual([
      expect.stringContaining('must NOT have additional properties'),
    ]);
    const withoutXp = Object.fromEntries(Object.entries(agent).filter(([k]) => k !== 'xp'));
    expect(problems('GET /api/agents/{id}', 200, withoutXp)).toEqual(
      expect.arrayContaining([expect.stringContaining("required property 'xp'"), expect.stringContaining('zod: xp')]),
    );
    expect(problems('GET /api/agents/{id}', 200, { ...agent, updatedAt: 'yesterday' })).toEqual(
      expect.arrayContaining([expect.stringContaining('/updatedAt'), expect.stringContaining('zod: updatedAt')]),
    );
    // A success answer without a declared schema fails the check.
    expect(problems('GET /api/agents/{id}', 204, {})).toEqual(['GET /api/agents/{id} declares no JSON schema for 204']);
  });

  it('called every operation of the document', () => {
    const all = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(all.length).toBeGreaterThanOrEqual(60);
    expect(all.filter((op) => !covered.has(op))).toEqual([]);
  });
});
