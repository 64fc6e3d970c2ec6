import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { proposalBranch } from '../../src/contracts';
import { PROMPTS, scriptExams } from '../chaos/llm-script';
import { admin } from '../helpers/database';
import { adminDatabaseUrl, requiredTestEnv, TEST_ENV } from '../helpers/env';
import { startFakeLlms, type FakeLlms } from '../helpers/llm';
import { exampleTargetFix } from '../helpers/proposals';
import { ENTRY, ensureDist } from './dist';
import { waitFor } from '../helpers/wait';
import { Processes, type Proc } from './processes';

/**
 * The production shape as deployed (docs/production.md): dist/ built by the compiler and the workflow bundler, the
 * compiled migrate, then `node dist/src/bin/api.js` and worker processes `node dist/src/bin/worker.js` split by
 * WORKER_QUEUES — each a separate OS process with its own environment (NODE_ENV=production) — on the run's Temporal
 * server (a namespace of this file's own) and a database of its own. Everything is driven and checked through the HTTP
 * API with a key the API took from ADMIN_API_KEY.
 */

// A fresh clone compiles first (~1-2 min on a busy machine); a current dist/ is reused (see ensureDist).
jest.setTimeout(240_000);

/** Where bwrap works the workers keep production's default (isolation required); elsewhere they must be told. */
const BWRAP_WORKS = spawnSync('bwrap', ['--unshare-all', '--ro-bind', '/', '/', 'true']).status === 0;
const QUIET_SCHEDULES = Object.fromEntries(
  [
    'IMPERIUM_LEARNING_INTERVAL',
    'GUARDIAN_SCAN_INTERVAL',
    'SANDBOX_EXPERIMENT_INTERVAL',
    'CONQUEST_ANALYSIS_INTERVAL',
    'CUSTODY_TEST_INTERVAL',
  ].map((name) => [name, '100000000']),
);
const START_MS = 90_000;

const suffix = randomBytes(4).toString('hex');
const namespace = `lvlup-prod-${suffix}`;
const taskQueue = `prod-${suffix}`;
const adminKey = randomBytes(24).toString('hex');
let database: string;
let dataDir: string;
let fakes: FakeLlms;
let procs: Processes;
let apiUrl: string;
let workflowsWorker: Proc;
let activityWorker: Proc;
let temporal: Connection;

beforeAll(async () => {
  await withLogs(async () => {
    const built = await ensureDist();
    process.stdout.write(`dist/: ${built.built ? 'built' : 'current, reused'} in ${(built.ms / 1000).toFixed(1)} s\n`);
    const address = requiredTestEnv(TEST_ENV.temporalAddress);
    temporal = await Connection.connect({ address });
    await registerNamespace(temporal, namespace);
    database = `lvlup_t_${requiredTestEnv(TEST_ENV.runId)}_prod_${suffix}`;
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'lvlup-prod-'));
    fakes = await startFakeLlms();
    procs = new Processes({
      NODE_ENV: 'production',
      DATABASE_URL: adminDatabaseUrl(database),
      DATABASE_POOL_SIZE: '5',
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_TASK_QUEUE: taskQueue,
      DATA_DIR: dataDir,
      REVIEW_SIGNING_KEY: randomBytes(32).toString('hex'),
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      ...fakes.env({ LLM_PROFILE_FALLBACK: '', ANTHROPIC_API_KEY: '', ANTHROPIC_BASE_URL: '' }),
      // A killed worker's activity is retried elsewhere after 5 s without a heartbeat (default 30 s).
      ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS: '5',
      WORKER_SHUTDOWN_GRACE_SECONDS: '2',
      // No second judging at random: the ledger's counts below are exact.
      CUSTODY_AUDIT_SAMPLE_RATE: '0',
      ...QUIET_SCHEDULES,
      ...(BWRAP_WORKS ? {} : { SANDBOX_REQUIRE_ISOLATION: 'false' }),
    });
    // The migrate job of the compose file: creates the database and applies every migration, compiled.
    expect(await procs.run('migrate', ENTRY.migrate)).toMatch(/"message":"applied /);
    // All three at once, as `docker compose up` starts them after migrate: each copies the example target into the
    // shared DATA_DIR and records it, concurrently.
    const api = procs.start('api', ENTRY.api, { API_HOST: '127.0.0.1', API_PORT: '0', ADMIN_API_KEY: adminKey });
    workflowsWorker = procs.start('worker-workflows', ENTRY.worker, { WORKER_QUEUES: 'workflows' });
    activityWorker = procs.start('worker-llm-sandbox', ENTRY.worker, { WORKER_QUEUES: 'llm,sandbox' });
    const [listening] = await Promise.all([
      api.line(/API listening on (http:\/\/127\.0\.0\.1:\d+)/, START_MS),
      workflowsWorker.line(/worker polling /, START_MS),
      activityWorker.line(/worker polling /, START_MS),
    ]);
    apiUrl = listening[1] ?? '';
  });
}, 420_000);

afterAll(async () => {
  await procs?.stopAll();
  await fakes?.close();
  if (temporal !== undefined) {
    await temporal.operatorService.deleteNamespace({ namespace }).catch(() => undefined);
    await temporal.close();
  }
  if (database !== undefined) await admin((c) => c.query(`drop database if exists "${database}" with (force)`));
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

it('runs the API and two workers as OS processes, the workers split by queue kind as deployed', async () => {
  await withLogs(async () => {
    expect((await call('GET', '/readyz')).status).toBe(200);
    const system = await call('GET', '/api/system');
    expect(system.status).toBe(200);
    const body = system.body as {
      database: string;
      temporal: string;
      queues: Record<string, { queue: string; workers: number }>;
      sandbox: { workers: Array<{ pid: number; queues: string[] }> };
    };
    expect(body).toMatchObject({ database: 'up', temporal: 'up' });
    expect(body.queues).toEqual({
      workflows: { queue: taskQueue, workers: 1 },
      llm: { queue: `${taskQueue}-llm`, workers: 1 },
      sandbox: { queue: `${taskQueue}-sandbox`, workers: 1 },
    });
    const polled = Object.fromEntries(body.sandbox.workers.map((w) => [w.pid, w.queues]));
    expect(polled).toEqual({
      [workflowsWorker.pid]: [taskQueue],
      [activityWorker.pid]: [`${taskQueue}-llm`, `${taskQueue}-sandbox`],
    });
    // The compiled API serves the console from dist/web (a path only the built layout resolves).
    const page = await fetch(`${apiUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
  });
});

it('completes a custody exam started through the API: the workflows worker orchestrates, the other one calls the model', async () => {
  await withLogs(async () => {
    fakes.reset();
    scriptExams(fakes.openai);
    const started = await call('POST', '/api/custody/tests', { agentId: 'guardian', category: 'security_awareness' });
    expect(started.status).toBe(202);
    const { workflowId, examUrl } = started.body as { workflowId: string; examUrl: string };
    const exam = await examEnded(examUrl, 120_000);
    expect(exam).toMatchObject({ agentId: 'guardian', status: 'passed', score: 90, error: null, usage: { calls: 7 } });
    expect(exam.items).toHaveLength(3);
    for (const item of exam.items) expect(item).toMatchObject({ answer: 'A careful, complete answer.', score: 90 });
    expect((await call('GET', `/api/workflows/${workflowId}`)).body).toMatchObject({ status: 'COMPLETED' });
    expect((await call('GET', '/api/custody/eligibility/guardian')).body).toMatchObject({ eligible: true });
  });
});

it('takes a proposal from the request to an applied commit through the API: drafted, tested in the sandbox, reviewed, approved', async () => {
  await withLogs(async () => {
    fakes.openai.when('Review this proposed diff', { json: { summary: 'Looks safe.', concerns: [] } });
    fakes.openai.when('Propose one small, safe change', {
      json: {
        title: 'Check names in findUserQuery',
        rationale: 'Quotes in a name ended the SQL literal.',
        risk: 'Low: one expression.',
        diff: exampleTargetFix(),
      },
    });
    const started = await call('POST', '/api/proposals', {
      agentId: 'guardian',
      goal: 'Check the names findUserQuery puts into its SQL.',
    });
    expect(started.status).toBe(202);
    const { proposalId, proposalUrl } = started.body as { proposalId: string; proposalUrl: string };
    const waiting = await waitFor('the proposal to await review', 150_000, async () => {
      const p = (await call('GET', proposalUrl)).body as { status: string; error: string | null };
      if (!['drafting', 'validating', 'testing', 'reviewing', 'awaiting_review'].includes(p.status))
        throw new Error(`the proposal ended ${p.status} before its review: ${p.error}`);
      return p.status === 'awaiting_review' && p;
    });
    expect(waiting).toMatchObject({ guardianModelReview: 'passed', diff: exampleTargetFix() });
    const reviewed = await call('POST', `/api/proposals/${proposalId}/review`, {
      decision: 'approve',
      comment: 'Approved by the production-shape test.',
    });
    expect(reviewed.status).toBe(200);
    expect(reviewed.body).toMatchObject({
      proposalId,
      decision: 'approve',
      status: 'applied',
      branch: proposalBranch(proposalId),
      commit: expect.stringMatching(/^[0-9a-f]{40}$/),
    });
    const done = (await call('GET', proposalUrl)).body as {
      status: string;
      commit: string;
      review: unknown;
      timeline: Array<{ state: string }>;
    };
    expect(done).toMatchObject({
      status: 'applied',
      commit: (reviewed.body as { commit: string }).commit,
      review: { decision: 'approve', reviewer: expect.any(String) },
    });
    expect(done.timeline.map((e) => e.state)).toEqual([
      'drafting',
      'validating',
      'testing',
      'reviewing',
      'awaiting_review',
      'applying',
      'applied',
    ]);
  });
});

it('finishes an exam whose model-calling worker is SIGKILLed mid-call on another worker process, each call billed once', async () => {
  await withLogs(async () => {
    fakes.reset();
    // The answer calls (the three items are answered in parallel) are held open at the fake provider: the exam is
    // then mid-run inside the llm worker.
    const llm = scriptExams(fakes.openai, { prompt: 'answering', nth: 1 });
    const answerRequests = () => fakes.openai.requests.filter((r) => r.prompt.includes(PROMPTS.answering.marker));
    const started = await call('POST', '/api/custody/tests', {
      agentId: 'imperium',
      category: 'knowledge_verification',
    });
    expect(started.status).toBe(202);
    const { workflowId, examUrl } = started.body as { workflowId: string; examUrl: string };
    await waitFor(
      'the three answer calls to be held at the provider',
      60_000,
      async () => answerRequests().length === 3,
    );
    // Only now a third process that polls every kind (the default, WORKER_QUEUES unset): the held calls are surely the
    // llm worker's, and the killed worker's work has somewhere to go.
    const spare = procs.start('worker-all', ENTRY.worker, {});
    await spare.line(/worker polling /, START_MS);
    await procs.kill(activityWorker, 'SIGKILL');
    llm.release();
    const exam = await examEnded(examUrl, 120_000);
    expect(exam).toMatchObject({ agentId: 'imperium', status: 'passed', score: 90, error: null });
    expect(exam.items.map((i) => i.answer)).toEqual(Array(3).fill('A careful, complete answer.'));
    expect((await call('GET', `/api/workflows/${workflowId}`)).body).toMatchObject({ status: 'COMPLETED' });
    // The ledger: every logical call billed `ok` once; the three calls lost with the killed worker stay `unknown`
    // (spent, at their reservation), and the provider saw exactly those three answer requests more than it billed.
    const events = (
      (await call('GET', `/api/token-usage/events?workflowId=${encodeURIComponent(workflowId)}&limit=100`)).body as {
        items: Array<{ purpose: string; outcome: string }>;
      }
    ).items;
    const count = (purpose: string, outcome: string) =>
      events.filter((e) => e.purpose === purpose && e.outcome === outcome).length;
    expect({
      generate: count(PROMPTS.examiner.purpose, 'ok'),
      answer: count(PROMPTS.answering.purpose, 'ok'),
      answerUnknown: count(PROMPTS.answering.purpose, 'unknown'),
      grade: count(PROMPTS.judge.purpose, 'ok'),
      all: events.length,
    }).toEqual({
      generate: 1,
      answer: 3,
      answerUnknown: 3,
      grade: 3,
      all: 10,
    });
    expect(answerRequests()).toHaveLength(6);
  });
});

interface ExamBody {
  agentId: string;
  status: string;
  score: number | null;
  error: string | null;
  items: Array<{ answer: string | null; score: number | null }>;
}

/** GETs the exam until it is no longer running. */
function examEnded(examUrl: string, timeoutMs: number): Promise<ExamBody> {
  return waitFor('the exam to end', timeoutMs, async () => {
    const exam = (await call('GET', examUrl)).body as ExamBody;
    return exam.status !== 'running' && exam;
  });
}

/** One request to the API with the admin key; the body parsed when it is JSON. */
async function call(method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${apiUrl}${urlPath}`, {
    method,
    headers: {
      Authorization: `Bearer ${adminKey}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as unknown };
  } catch {
    return { status: res.status, body: text };
  }
}

/** Runs `fn`; a failure carries every process's output (the API's and the workers' logs) in its message. */
async function withLogs(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    // The API's access log of successful requests (the polling) is left out: it would bury the rest.
    const logs = procs?.logs((line) => !/"component":"http".*"status":[23]\d\d/.test(line)) ?? '(no process started)';
    if (err instanceof Error) {
      err.message = `${err.message}\n\nprocess logs:\n${logs}`;
      throw err;
    }
    throw new Error(`${String(err)}\n\nprocess logs:\n${logs}`);
  }
}

/**
 * A namespace of this file's own on the run's dev server: the workflows worker syncs the schedules (fixed ids) into
 * its namespace, where they cannot replace another file's. Resolves once the frontend serves it.
 */
async function registerNamespace(connection: Connection, name: string): Promise<void> {
  await connection.workflowService.registerNamespace({
    namespace: name,
    workflowExecutionRetentionPeriod: msToTs('1 day'),
  });
  const client = new Client({ connection, namespace: name });
  await waitFor(`namespace ${name} to be served`, 30_000, () =>
    client.workflow.count().then(
      () => true,
      () => false,
    ),
  );
}
