import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { MikroORM } from '@mikro-orm/postgresql';
import { createActivities, type Activities } from '../../activities';
import type { Config } from '../../src/config';
import { createLlmGateway } from '../../src/llm';
import { createLogger } from '../../src/logger';
import { createSandbox, PRODUCT_ROOT } from '../../src/sandbox';
import { createMetrics } from '../../src/metrics';

export interface TestWorker {
  client: Client;
  taskQueue: string;
  /** Runs `fn` while the worker polls, then stops the worker. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * A real worker on the run's Temporal dev server with the real activities, on a task queue of its own so test files
 * never steal each other's tasks. `workflowsPath` lets a test register test-only workflows; `faults` replaces named
 * activities (fault injection: a dependency that fails).
 */
export async function createTestWorker(config: Config, orm: MikroORM, opts: { workflowsPath: string; taskQueue?: string; faults?: Partial<Activities> }): Promise<TestWorker> {
  quietSdkLogs();
  const taskQueue = opts.taskQueue ?? `test-${randomBytes(4).toString('hex')}`;
  const address = config.temporal.address ?? '';
  const nativeConnection = await NativeConnection.connect({ address });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const logger = createLogger(config.log);
  const metrics = createMetrics();
  const llm = createLlmGateway({ config, orm, logger, metrics });
  const sandbox = await createSandbox({
    requireIsolation: config.sandbox.requireIsolation,
    logger,
    bwrapPath: config.sandbox.bwrapPath,
    limits: {
      memoryMb: config.sandbox.memoryMb,
      cpuSeconds: config.sandbox.cpuSeconds,
      maxProcesses: config.sandbox.maxProcesses,
      maxFileMb: config.sandbox.maxFileMb,
    },
    hiddenPaths: [config.dataDir, PRODUCT_ROOT],
  });
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: config.temporal.namespace,
    taskQueue,
    workflowsPath: opts.workflowsPath,
    activities: { ...createActivities({ config, orm, logger, metrics, llm, sandbox }), ...opts.faults },
  });
  let ran = false;
  return {
    client,
    taskQueue,
    run: (fn) => {
      ran = true;
      return worker.runUntil(fn);
    },
    close: async () => {
      // A worker that never ran still holds its connection: start and stop it so the connection can close.
      if (!ran) await worker.runUntil(async () => undefined);
      await connection.close();
      await nativeConnection.close();
    },
  };
}

/** Temporal SDK logs at ERROR only, once per test process. */
export function quietSdkLogs(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // Already installed for this test process.
  }
}
