import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createActivities } from '../activities';
import { loadConfig } from '../src/config';
import { benchDatabaseUrl } from './database';
import { AGENT_IDS, type AgentId } from '../src/domain/agents';
import { CUSTODY_EXAM_WORKFLOW, custodyWorkflowId, QUEUE_KINDS, type CustodyExamInput } from '../src/contracts';
import { createOrm, ensureDatabase, runMigrations } from '../src/db/orm';
import { createLlmGateway } from '../src/llm';
import { createLogger } from '../src/logger';
import { createMetrics } from '../src/metrics';
import { createSandbox } from '../src/sandbox';
import { resolveTemporalCli } from '../src/temporal/cli';
import { EAGER_ACTIVITIES, startDevServer } from '../src/temporal/dev-server';
import { createKindWorkers } from '../src/temporal/worker';
import { startFakeOpenAI } from '../test/fakes/llm-servers';

/**
 * `npm run bench:workflows`: BENCH_EXAMS custody exams (default 40) on a fresh in-memory Temporal dev server with a
 * real worker and PostgreSQL (`DATABASE_URL`, database `lvlup_bench_wf` by default, reset first), the LLM answered
 * instantly by the fake OpenAI server. Four agents examine in parallel (one running exam per agent is the rule);
 * BENCH_PARALLEL=1 runs one exam at a time (the orchestration latency without contention).
 * Prints exams/min, end-to-end p50/p99, and per activity the orchestration overhead (scheduled → started, from the
 * workflow histories) next to the activity's own run time.
 */
const QUIET = createLogger({ level: 'error', format: 'json' });
/** The Temporal runtime is installed once per process (a second bench in the same process reuses it). */
let runtimeInstalled = false;

/** The goals of issue 17 for one worker. */
export const WORKFLOW_GOALS = { examP50Ms: 1000, examsPerMin: 200, scheduleToStartP50Ms: 10 };

export interface WorkflowBenchResult {
  exams: number;
  wallMs: number;
  /** End-to-end duration of each exam (start → result), ms. */
  durations: number[];
  /** Per activity type: scheduled → started (orchestration overhead) and started → completed, ms. */
  overhead: Record<string, number[]>;
  runTime: Record<string, number[]>;
}

async function main(): Promise<void> {
  const result = await runWorkflowBench({
    exams: Number(process.env.BENCH_EXAMS ?? 40),
    databaseUrl: benchDatabaseUrl('lvlup_bench_wf'),
    parallel: Number(process.env.BENCH_PARALLEL ?? 4),
  });
  report(result);
}

/**
 * Starts its own Temporal dev server, fake LLM and worker, runs `exams` custody exams and reads the histories back.
 * Installs the Temporal runtime's logger (once per process).
 */
export async function runWorkflowBench(opts: {
  exams: number;
  databaseUrl: string | undefined;
  parallel?: number;
}): Promise<WorkflowBenchResult> {
  if (!runtimeInstalled) Runtime.install({ logger: new DefaultLogger('ERROR') });
  runtimeInstalled = true;
  const fake = await startFakeOpenAI();
  let n = 0;
  const code = {
    kind: 'code',
    functionName: 'add',
    tests: [
      { args: [1, 2], expected: 3 },
      { args: [2, 2], expected: 4 },
      { args: [0, 5], expected: 5 },
    ],
  };
  fake.when('rigorous examiner', (req) => {
    const count = Number(/Write (\d+) exam item/.exec(req.prompt)?.[1] ?? 3);
    const items = Array.from({ length: count }, () => ({
      kind: 'open',
      prompt: `Bench question ${++n} ${randomUUID()}.`,
      rubric: [{ name: 'accuracy', weight: 1, description: 'correct?' }],
    }));
    // Categories that need a code item get one, graded by really running it in the sandbox.
    if (/MUST be (one item )?of kind "code"/.test(req.prompt))
      items[0] = { ...code, prompt: `Write add(a, b) returning the sum (${randomUUID()}).` } as never;
    return { json: { items } };
  });
  fake.when('You are taking an exam', (req) =>
    req.schema === undefined ? { text: 'An answer.' } : { json: { code: 'function add(a, b) { return a + b; }' } },
  );
  fake.when('strict, fair judge', { json: { criteria: [{ id: 'c1', score: 9, reason: 'good' }] } });

  // BENCH_EAGER=0 runs the server without eager activity execution, to compare; BENCH_PARTITIONS=1 with one partition
  // per task queue instead of the server's 4 (measured: no difference in schedule → start here).
  const dynamicConfig = {
    ...(process.env.BENCH_EAGER === '0' ? {} : EAGER_ACTIVITIES),
    ...(process.env.BENCH_PARTITIONS === '1'
      ? { 'matching.numTaskqueueReadPartitions': 1, 'matching.numTaskqueueWritePartitions': 1 }
      : {}),
  };
  const server = await startDevServer({
    cliPath: await resolveTemporalCli({ cliPath: process.env.TEMPORAL_CLI_PATH, logger: QUIET }),
    port: await freePort(),
    namespace: 'default',
    logger: QUIET,
    dynamicConfig,
  });
  try {
    return await run(server.address, fake.url, opts);
  } finally {
    await server.stop();
    await fake.close();
  }
}

async function run(
  address: string,
  fakeUrl: string,
  opts: { exams: number; databaseUrl: string | undefined; parallel?: number },
): Promise<WorkflowBenchResult> {
  const EXAMS = opts.exams;
  const dbUrl = opts.databaseUrl ?? benchDatabaseUrl('lvlup_bench_wf');
  const taskQueue = `bench-${randomUUID().slice(0, 8)}`;
  // The worker tuning (WORKER_ACTIVITY_POLLERS, WORKER_WORKFLOW_POLLERS, WORKER_MAX_CACHED_WORKFLOWS, WORKER_EAGER_ACTIVITIES) from the environment.
  const tuning = Object.fromEntries(
    Object.entries(process.env).filter(([k]) =>
      /^WORKER_(ACTIVITY_POLLERS|WORKFLOW_POLLERS|MAX_CACHED_WORKFLOWS|EAGER_ACTIVITIES)$/.test(k),
    ),
  );
  const config = loadConfig({
    ...tuning,
    DATABASE_URL: dbUrl,
    OPENAI_BASE_URL: fakeUrl,
    OPENAI_API_KEY: 'sk-bench',
    LLM_PROFILE_PRIMARY: 'openai:gpt-4o-mini',
    LLM_BUDGET_MONTHLY_TOKENS: '0',
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    LOG_LEVEL: 'error',
  });
  await ensureDatabase(config.database.url);
  const orm = await createOrm(config.database);
  await runMigrations(orm);
  await orm.em
    .getConnection()
    .execute('truncate exams, exam_items, skill_rating_events, token_usage_events, notifications cascade');
  await orm.em
    .getConnection()
    .execute(
      'update agents set level = 1, xp = 0, exams_taken = 0, exams_passed = 0, exams_failed = 0, consecutive_passes = 0, consecutive_failures = 0',
    );

  const metrics = createMetrics();
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const activities = createActivities({
    config,
    orm,
    logger: QUIET,
    metrics,
    llm: createLlmGateway({ config, orm, logger: QUIET, metrics }),
    sandbox: await createSandbox({ requireIsolation: false, logger: QUIET }),
    temporal: client,
  });
  const nativeConnection = await NativeConnection.connect({ address });
  // Every kind of work polled here: the exam's LLM and sandbox steps go to their own queues.
  const worker = await createKindWorkers({
    connection: nativeConnection,
    namespace: config.temporal.namespace,
    taskQueue,
    kinds: QUEUE_KINDS,
    concurrency: config.worker.concurrency,
    tuning: config.worker.tuning,
    workflowsPath: __filename.endsWith('.ts') ? require.resolve('../workflows') : undefined,
    activities,
  });

  const durations: number[] = [];
  const ids: string[] = [];
  const started = performance.now();
  await worker.runUntil(async () => {
    // `parallel` agents examined side by side (1: one exam at a time, the latency without contention).
    const agents = AGENT_IDS.slice(0, Math.max(1, Math.min(AGENT_IDS.length, opts.parallel ?? AGENT_IDS.length)));
    const perAgent = Math.ceil(EXAMS / agents.length);
    await Promise.all(
      agents.map(async (agentId: AgentId) => {
        for (let i = 0; i < perAgent && ids.length < EXAMS; i++) {
          const workflowId = custodyWorkflowId(agentId, randomUUID());
          ids.push(workflowId);
          const input: CustodyExamInput = { agentId, trigger: 'api' };
          const t0 = performance.now();
          await client.workflow.execute(CUSTODY_EXAM_WORKFLOW, { taskQueue, workflowId, args: [input] });
          durations.push(performance.now() - t0);
        }
      }),
    );
  });
  const wallMs = performance.now() - started;
  const result: WorkflowBenchResult = { exams: ids.length, wallMs, durations, overhead: {}, runTime: {} };
  const { overhead, runTime } = result;

  for (const id of ids) {
    const history = await client.workflow.getHandle(id).fetchHistory();
    const scheduled = new Map<string, { type: string; at: number }>();
    const startedAt = new Map<string, number>();
    for (const [index, e] of (history.events ?? []).entries()) {
      const at = Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
      const eventId = String(e.eventId ?? index + 1);
      if (e.activityTaskScheduledEventAttributes)
        scheduled.set(eventId, { type: e.activityTaskScheduledEventAttributes.activityType?.name ?? '?', at });
      if (e.activityTaskStartedEventAttributes) {
        const s = scheduled.get(String(e.activityTaskStartedEventAttributes.scheduledEventId));
        if (s) (overhead[s.type] ??= []).push(at - s.at);
        startedAt.set(String(e.activityTaskStartedEventAttributes.scheduledEventId), at);
      }
      if (e.activityTaskCompletedEventAttributes) {
        const key = String(e.activityTaskCompletedEventAttributes.scheduledEventId);
        const s = scheduled.get(key);
        const st = startedAt.get(key);
        if (s && st !== undefined) (runTime[s.type] ??= []).push(at - st);
      }
    }
  }

  await connection.close();
  await nativeConnection.close();
  await orm.close();
  return result;
}

function report({ exams, wallMs, durations, overhead, runTime }: WorkflowBenchResult): void {
  console.log(`\nserver eager activity execution ${process.env.BENCH_EAGER === '0' ? 'off' : 'on'}`);
  console.log(
    `\n${exams} custody exams (3 items each, one of them a code item run in the sandbox for 3 of the 4 agents; LLM answered instantly), ${process.env.BENCH_PARALLEL ?? 4} agent(s) in parallel, 1 worker\n`,
  );
  console.log(
    `throughput    ${((exams / wallMs) * 60_000).toFixed(1)} exams/min (wall ${(wallMs / 1000).toFixed(1)} s)`,
  );
  console.log(`end-to-end    p50 ${q(durations, 0.5).toFixed(0)} ms   p99 ${q(durations, 0.99).toFixed(0)} ms\n`);
  console.log('activity                 count   schedule→start p50/p99 ms   run p50/p99 ms');
  for (const [type, values] of Object.entries(overhead)) {
    const run = runTime[type] ?? [];
    console.log(
      `${type.padEnd(24)} ${String(values.length).padStart(5)}   ${q(values, 0.5).toFixed(0).padStart(8)} / ${q(values, 0.99).toFixed(0).padEnd(12)}   ${q(run, 0.5).toFixed(0).padStart(5)} / ${q(run, 0.99).toFixed(0)}`,
    );
  }
}

export function q(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
