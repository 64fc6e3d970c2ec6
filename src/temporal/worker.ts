import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  bundleWorkflowCode,
  NativeConnection,
  Runtime,
  Worker,
  type Logger as SdkLogger,
  type LogLevel,
  type LogMetadata,
} from '@temporalio/worker';
import { activityQueues, queueKindsOf, type QueueKind } from '../contracts';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { connectionOptions } from './client';

/** The pre-built bundle `npm run build` writes; the worker loads it (or WORKFLOW_BUNDLE_PATH) when present instead of bundling at start. */
export const WORKFLOW_BUNDLE_PATH = path.resolve(__dirname, '../../workflow-bundle.js');

export interface KindWorkersOptions {
  connection: NativeConnection;
  namespace: string;
  /** The base queue (TEMPORAL_TASK_QUEUE, or a test's own): the workflows' queue, from which the kind queues derive. */
  taskQueue: string;
  /** The kinds of work this process polls. */
  kinds: readonly QueueKind[];
  /** Activity slots of each kind's worker. */
  concurrency: Record<QueueKind, number>;
  /** Every activity this process can run; each worker registers those of its kind. */
  activities: object;
  /** Workflow code to load instead of the pre-built bundle or the production workflows (tests). */
  workflowsPath?: string;
  /** The pre-built workflow bundle to load when present (WORKFLOW_BUNDLE_PATH; default `workflow-bundle.js` beside the build). */
  workflowBundlePath?: string;
  shutdownGraceSeconds?: number;
  /** Poller counts, sticky cache and eager activities (WORKER_* config); the SDK's defaults where unset. */
  tuning?: WorkerTuning;
  /**
   * Where bundling the workflows at start (no pre-built bundle) reports: webpack's summary at debug, its warnings and
   * errors as such. Unset: the SDK runtime's logger, at the same levels.
   */
  logger?: Logger;
}

/**
 * How a worker polls and caches, from config: `activityPollers` per kind's worker (at most its activity slots),
 * `workflowPollers` and `maxCachedWorkflows` for the `workflows` worker, and `eagerActivities` — the activity slots a
 * workflow task may reserve so the server hands it the activities it schedules on its own queue (the light database
 * steps) in the task's reply, without a poll (needs `system.enableActivityEagerExecution` on the server).
 */
export interface WorkerTuning {
  activityPollers?: number;
  workflowPollers?: number;
  maxCachedWorkflows?: number;
  eagerActivities?: number;
}

/** The `Worker.create` options of `tuning` for the worker of `kind` with `slots` activity slots. */
export function tuningOptions(kind: QueueKind, slots: number, tuning: WorkerTuning = {}) {
  const { activityPollers, workflowPollers, maxCachedWorkflows, eagerActivities } = tuning;
  return {
    ...(activityPollers === undefined ? {} : { maxConcurrentActivityTaskPolls: Math.min(activityPollers, slots) }),
    ...(kind !== 'workflows'
      ? {}
      : {
          ...(workflowPollers === undefined ? {} : { maxConcurrentWorkflowTaskPolls: workflowPollers }),
          ...(maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows }),
          ...(eagerActivities === undefined ? {} : { maxEagerActivityReservationsPerWorkflowTask: eagerActivities }),
        }),
  };
}

export interface KindWorkers {
  workers: Array<{ kind: QueueKind; queue: string; worker: Worker }>;
  /** The task queues polled, in kind order. */
  queues: string[];
  /** Polls until every worker has stopped; when one stops or fails, the others are shut down and its failure rethrown. */
  run(): Promise<void>;
  /** Polls while `fn` runs, then shuts every worker down. */
  runUntil<T>(fn: () => Promise<T>): Promise<T>;
  /** Asks every running worker to stop (running activities get the shutdown grace time); `run` then resolves. */
  shutdown(): void;
}

/**
 * One Temporal worker per polled kind, all on one connection: `workflows` polls the base queue for workflow tasks and
 * the light activities, `llm` and `sandbox` are activity-only workers on `<base>-llm` and `<base>-sandbox`, each with
 * its own cap on concurrent activities. Does not start polling.
 */
export async function createKindWorkers(opts: KindWorkersOptions): Promise<KindWorkers> {
  const queues = activityQueues(opts.taskQueue);
  const workers: KindWorkers['workers'] = [];
  for (const kind of opts.kinds) {
    const worker = await Worker.create({
      connection: opts.connection,
      namespace: opts.namespace,
      taskQueue: queues[kind],
      activities: activitiesFor(kind, opts.kinds, opts.activities),
      maxConcurrentActivityTaskExecutions: opts.concurrency[kind],
      ...tuningOptions(kind, opts.concurrency[kind], opts.tuning),
      ...(opts.shutdownGraceSeconds === undefined ? {} : { shutdownGraceTime: `${opts.shutdownGraceSeconds}s` }),
      ...(kind === 'workflows' ? await workflowSource(opts) : {}),
    });
    workers.push({ kind, queue: queues[kind], worker });
  }
  const shutdown = () => {
    for (const { worker } of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
  };
  const run = async () => {
    const settled = await Promise.allSettled(workers.map(({ worker }) => worker.run().finally(shutdown)));
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  };
  return {
    workers,
    queues: workers.map((w) => w.queue),
    run,
    shutdown,
    runUntil: async (fn) => {
      const running = run();
      try {
        return await Promise.race([
          fn(),
          running.then(() => Promise.reject(new Error('the workers stopped before the work was done'))),
        ]);
      } finally {
        shutdown();
        await running;
      }
    },
  };
}

/** Connects to Temporal (one connection for all of a process's workers). */
export function connectWorkers(temporal: Config['temporal']): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(temporal));
}

/**
 * The activities the worker of `kind` registers: those of its kind. The `workflows` worker also takes those of every
 * other kind this process polls — workflows started before the routing patch schedule every activity on the base queue.
 * An activity outside the classification (a test's own) belongs to `workflows`.
 */
export function activitiesFor(
  kind: QueueKind,
  polled: readonly QueueKind[],
  activities: object,
): Record<string, unknown> {
  const runsHere = (name: string) => {
    const kinds = queueKindsOf(name);
    return kind === 'workflows' ? kinds.some((k) => k === 'workflows' || polled.includes(k)) : kinds.includes(kind);
  };
  return Object.fromEntries(Object.entries(activities).filter(([name]) => runsHere(name)));
}

/**
 * The `workflows` worker's code: the pre-built bundle when there is one (production), else the workflows bundled now
 * with webpack (development and tests, seconds). Bundled here rather than by `Worker.create`, which logs webpack's
 * whole module list at info: here that summary goes to debug (LOG_LEVEL=debug shows it).
 */
async function workflowSource({
  workflowsPath,
  workflowBundlePath = WORKFLOW_BUNDLE_PATH,
  logger,
}: KindWorkersOptions) {
  if (workflowsPath === undefined && existsSync(workflowBundlePath))
    return { workflowBundle: { codePath: workflowBundlePath } };
  const { code } = await bundleWorkflowCode({
    workflowsPath: workflowsPath ?? require.resolve('../../workflows'),
    logger: bundlerLogger(logger),
  });
  return { workflowBundle: { code } };
}

const WINSTON_LEVELS: Record<LogLevel, string> = {
  TRACE: 'silly',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** The webpack bundler's logger: its info (the build summary, "Workflow bundle created") one level down, at debug. */
export function bundlerLogger(logger: Logger | undefined): SdkLogger {
  const log = (level: LogLevel, message: string, meta: LogMetadata = {}) => {
    const demoted = level === 'INFO' ? 'DEBUG' : level;
    if (logger === undefined) Runtime.instance().logger.log(demoted, message, meta);
    else logger.log(WINSTON_LEVELS[demoted], message, meta);
  };
  return {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
}
