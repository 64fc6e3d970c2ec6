import { randomBytes, randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { createActivities, type Activities } from '../../activities';
import type { Config } from '../../src/config';
import { agentRunWorkflowId, QUEUE_KINDS, type AgentRunInput, type QueueKind } from '../../src/contracts';
import { AgentRun } from '../../src/db/entities';
import { createLogger } from '../../src/logger';
import { createMetrics } from '../../src/metrics';
import { createKindWorkers } from '../../src/temporal/worker';
import { workerDependencies } from '../../src/temporal/worker-deps';

export interface TestWorker {
  client: Client;
  taskQueue: string;
  /** Runs `fn` while the worker polls, then stops the worker. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** Starts polling in the background, for a test file that shares one worker among its tests; close() stops it. */
  start(): void;
  close(): Promise<void>;
}

/**
 * A real worker on the run's Temporal dev server with the real activities, on a task queue of its own so test files
 * never steal each other's tasks, polling every kind of work (the queue and its `-llm` and `-sandbox` queues) unless
 * `queues` names some. `workflowsPath` lets a test register test-only workflows; `faults` replaces named activities
 * (fault injection: a dependency that fails); `concurrency` caps a kind's activity slots.
 */
export async function createTestWorker(
  config: Config,
  orm: MikroORM,
  opts: {
    workflowsPath: string;
    taskQueue?: string;
    faults?: Partial<Activities>;
    queues?: readonly QueueKind[];
    concurrency?: Partial<Record<QueueKind, number>>;
  },
): Promise<TestWorker> {
  quietSdkLogs();
  const taskQueue = opts.taskQueue ?? `test-${randomBytes(4).toString('hex')}`;
  const kinds = opts.queues ?? QUEUE_KINDS;
  const address = config.temporal.address ?? '';
  const nativeConnection = await NativeConnection.connect({ address });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const logger = createLogger(config.log);
  const metrics = createMetrics();
  const { llm, sandbox } = await workerDependencies({ config, orm, logger, metrics }, kinds);
  const workers = await createKindWorkers({
    connection: nativeConnection,
    namespace: config.temporal.namespace,
    taskQueue,
    kinds,
    concurrency: { ...config.worker.concurrency, ...opts.concurrency },
    workflowsPath: opts.workflowsPath,
    activities: {
      ...createActivities({ config, orm, logger, metrics, llm, sandbox, temporal: client }),
      ...opts.faults,
    },
  });
  let ran = false;
  let stop = (): void => undefined;
  let background: Promise<void> | undefined;
  return {
    client,
    taskQueue,
    run: (fn) => {
      ran = true;
      return workers.runUntil(fn);
    },
    start: () => {
      ran = true;
      background = workers.runUntil(() => new Promise<void>((resolve) => (stop = resolve)));
    },
    close: async () => {
      stop();
      await background;
      // A worker that never ran still holds its connection: start and stop it so the connection can close.
      if (!ran) await workers.runUntil(async () => undefined);
      await connection.close();
      await nativeConnection.close();
    },
  };
}

/** Short timeouts for an agent run in a test: a stuck activity fails the test instead of hanging it. */
export const TEST_RUN_TIMEOUTS: AgentRunInput['timeouts'] = { scanMs: 120_000, llmMs: 10_000, dbMs: 10_000 };

/**
 * Executes an agent run's workflow (Guardian's scan, Sandbox's experiment, Conquest's analysis) on `worker`, which must
 * be polling (inside run() or after start()): the workflow's result or its error, and the run it stored.
 */
export async function executeAgentRun<R>(
  worker: TestWorker,
  orm: MikroORM,
  workflow: string,
  kind: Parameters<typeof agentRunWorkflowId>[0],
): Promise<{ run: AgentRun; result?: R; error?: unknown }> {
  const workflowId = agentRunWorkflowId(kind, randomUUID());
  const input: AgentRunInput = { trigger: 'api', timeouts: TEST_RUN_TIMEOUTS };
  const outcome = await worker.client.workflow
    .execute(workflow, { args: [input], taskQueue: worker.taskQueue, workflowId })
    .then(
      (result: R) => ({ result }),
      (error: unknown) => ({ error }),
    );
  return { run: await (orm.em.fork() as EntityManager).findOneOrFail(AgentRun, { workflowId }), ...outcome };
}

/** Temporal SDK logs at ERROR only, once per test process. */
export function quietSdkLogs(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // Already installed for this test process.
  }
}
