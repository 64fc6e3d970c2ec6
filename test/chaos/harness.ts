import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { Client as PgClient } from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { loadConfig, type Config } from '../../src/config';
import { createOrm, ensureDatabase, runMigrations } from '../../src/db/orm';
import { createLogger } from '../../src/logger';
import { resolveTemporalCli } from '../../src/temporal/cli';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server';
import { startTestApi, type TestApi } from '../helpers/api';
import { admin } from '../helpers/database';
import { adminDatabaseUrl, freePort } from '../helpers/env';
import { startFakeLlms, type FakeLlms } from '../helpers/llm';
import { quietSdkLogs } from '../helpers/worker';
import { WorkerProcesses } from './workers';

/**
 * The fault-injection lab: ONE Temporal dev server that keeps its state in a SQLite file (so it can be stopped and
 * restarted mid-run), one migrated template database, the workflow bundle built once, and the fake LLM providers.
 * Each scenario run gets a {@link Stage}: a database cloned from the template, the real API in this process, and real
 * worker processes on a task queue of its own.
 */
export interface Lab {
  readonly dir: string;
  readonly fakes: FakeLlms;
  readonly temporalAddress: string;
  /** Stops the Temporal server (SIGTERM) and starts it again on the same port and state file after `downMs`. */
  restartTemporal(downMs: number): Promise<void>;
  /** A fresh stage; `env` adds to (or overrides) the chaos environment of its API and workers. */
  stage(name: string, env?: Record<string, string>): Promise<Stage>;
  close(): Promise<void>;
}

export interface Stage {
  readonly name: string;
  readonly config: Config;
  readonly databaseName: string;
  readonly orm: MikroORM;
  readonly client: Client;
  readonly api: TestApi;
  readonly operatorKey: string;
  readonly workers: WorkerProcesses;
  readonly lab: Lab;
  /** A raw PostgreSQL connection to the stage's database (the caller ends it). */
  pg(): Promise<PgClient>;
  close(): Promise<void>;
}

/** The chaos environment's knobs: short reconciler and heartbeat periods, recurring work that never fires on its own. */
export const CHAOS_ENV = {
  NODE_ENV: 'test',
  LOG_LEVEL: 'info',
  LOG_FORMAT: 'json',
  DATABASE_POOL_SIZE: '5',
  LLM_TIMEOUT_SECONDS: '10',
  ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS: '5',
  WORKER_SHUTDOWN_GRACE_SECONDS: '1',
  RECONCILE_INTERVAL: '5',
  RECONCILE_GRACE: '2',
  // Far beyond any chaos run: only the reconciler's schedule fires.
  IMPERIUM_LEARNING_INTERVAL: '100000000',
  GUARDIAN_SCAN_INTERVAL: '100000000',
  SANDBOX_EXPERIMENT_INTERVAL: '100000000',
  CONQUEST_ANALYSIS_INTERVAL: '100000000',
  CUSTODY_TEST_INTERVAL: '100000000',
  // The suite's clients share one key and would be rate-limited (429) long before anything else is tested.
  RATE_LIMIT_ENABLED: 'false',
  LLM_PROFILE_FALLBACK: '',
  ANTHROPIC_API_KEY: '',
} as const;

/** How long one reconciler period is in the chaos environment (interval + grace), in ms. */
export const RECONCILE_PERIOD_MS = (Number(CHAOS_ENV.RECONCILE_INTERVAL) + Number(CHAOS_ENV.RECONCILE_GRACE)) * 1000;

/** Starts the lab; `close` stops every process it started and drops every database it created. */
export async function startLab(): Promise<Lab> {
  quietSdkLogs();
  const logger = createLogger({ level: 'warn', format: 'pretty' });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lvlup-chaos-'));
  const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const template = `lvlup_chaos_${runId}`;
  const databases: string[] = [template];
  await ensureDatabase(adminDatabaseUrl(template));
  const migrator = await createOrm({ url: adminDatabaseUrl(template), poolSize: 2 });
  await runMigrations(migrator);
  await migrator.close();

  const bundlePath = path.join(dir, 'workflow-bundle.js');
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    logger: quietBundlerLogger,
  });
  await writeFile(bundlePath, code);

  const cliPath = await resolveTemporalCli({ cliPath: process.env.TEMPORAL_CLI_PATH, logger });
  const port = await freePort();
  const serverOptions = { cliPath, port, dbFile: path.join(dir, 'temporal.sqlite'), namespace: 'default', logger };
  let server: DevServer | undefined = await startDevServer(serverOptions);
  const fakes = await startFakeLlms();
  const stages = new Set<Stage>();

  const lab: Lab = {
    dir,
    fakes,
    temporalAddress: server.address,
    restartTemporal: async (downMs) => {
      await server?.stop();
      server = undefined;
      await new Promise((r) => setTimeout(r, downMs));
      server = await startDevServer(serverOptions);
    },
    stage: async (name, extra = {}) => {
      const database = `${template}_${databases.length}`;
      databases.push(database);
      await admin((c) => c.query(`create database "${database}" template "${template}"`));
      const stage = await openStage(lab, name, database, bundlePath, extra);
      stages.add(stage);
      return stage;
    },
    close: async () => {
      for (const stage of stages) await stage.close().catch(() => undefined);
      await fakes.close();
      await server?.stop();
      await admin(async (c) => {
        for (const database of databases.reverse()) await c.query(`drop database if exists "${database}" with (force)`);
      });
      await rm(dir, { recursive: true, force: true });
    },
  };
  return lab;
}

async function openStage(
  lab: Lab,
  name: string,
  database: string,
  bundlePath: string,
  extra: Record<string, string>,
): Promise<Stage> {
  const taskQueue = `chaos-${name}-${randomBytes(3).toString('hex')}`;
  const dataDir = path.join(lab.dir, taskQueue);
  const env: Record<string, string> = {
    ...CHAOS_ENV,
    ...lab.fakes.env(CHAOS_ENV),
    DATABASE_URL: adminDatabaseUrl(database),
    TEMPORAL_ADDRESS: lab.temporalAddress,
    TEMPORAL_TASK_QUEUE: taskQueue,
    WORKFLOW_BUNDLE_PATH: bundlePath,
    DATA_DIR: dataDir,
    ...extra,
  };
  const config = loadConfig({ ...env, LOG_LEVEL: 'error', API_HOST: '127.0.0.1', API_PORT: '0' });
  const orm = await createOrm(config.database);
  const connection = await Connection.connect({ address: lab.temporalAddress });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const api = await startTestApi(config);
  const operatorKey = await api.key('operator', 'chaos');
  lab.fakes.reset();
  // Once a worker has synced the schedules onto this stage's queue, a reconciler run left on an earlier stage's queue
  // (the schedule fired before the sync) is ended: with overlap SKIP it would hold back this stage's reconciler runs.
  const workers = new WorkerProcesses(env, path.join(lab.dir, `${taskQueue}.log`), () =>
    terminateRunning(client, taskQueue),
  );
  let closed = false;
  return {
    name,
    config,
    databaseName: database,
    orm,
    client,
    api,
    operatorKey,
    workers,
    lab,
    pg: async () => {
      const pg = new PgClient({ connectionString: adminDatabaseUrl(database) });
      // A connection the suite itself kills (pg_terminate_backend) fails its query; the event must not end the process.
      pg.on('error', () => undefined);
      await pg.connect();
      return pg;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await workers.killAll();
      await terminateRunning(client, undefined);
      await api.close();
      await connection.close();
      await orm.close();
    },
  };
}

/**
 * Terminates the running workflows of other task queues than `keep` (all of them when undefined, as a stage ends and
 * its workers are gone): a reconciler run left on a dead queue would make its schedule (overlap SKIP) skip the next runs.
 */
async function terminateRunning(client: Client, keep: string | undefined): Promise<void> {
  for await (const wf of client.workflow.list({ query: `ExecutionStatus = 'Running'` })) {
    if (wf.taskQueue === keep) continue;
    await client.workflow
      .getHandle(wf.workflowId, wf.runId)
      .terminate('chaos: not part of this stage')
      .catch(() => undefined);
  }
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (message: string) => process.stderr.write(`${message}\n`),
};

export { waitFor } from '../helpers/wait';
