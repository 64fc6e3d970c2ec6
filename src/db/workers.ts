import os from 'node:os';
import type { MikroORM } from '@mikro-orm/postgresql';
import { activityQueues, QUEUE_KINDS, type QueueKind } from '../contracts';

/** A worker that has not refreshed its row for this long is taken for gone. */
export const WORKER_STALE_SECONDS = 90;
const REFRESH_MS = 30_000;

export interface WorkerSandboxView {
  identity: string;
  host: string;
  pid: number;
  /** The task queues it polls, comma-separated (`lvlup,lvlup-llm`). */
  taskQueue: string;
  queues: string[];
  sandbox: Record<string, unknown>;
  startedAt: string;
  seenAt: string;
}

/**
 * Announces this worker process and keeps its row fresh until `stop` (which removes it): the API has no sandbox of its
 * own and learns the isolation mode target code really runs under, and which task queues have a worker, from these rows.
 * `taskQueue` is the comma list of the queues it polls; `sandbox` is empty for a worker that runs no target code.
 */
export async function registerWorker(
  orm: MikroORM,
  reg: { identity?: string; taskQueue: string; sandbox: Record<string, unknown> },
): Promise<{ identity: string; stop(): Promise<void> }> {
  const identity = reg.identity ?? `${process.pid}@${os.hostname()}`;
  const conn = () => orm.em.getConnection();
  await conn().execute(
    `insert into worker_registrations (identity, host, pid, task_queue, sandbox, started_at, seen_at) values (?, ?, ?, ?, ?::jsonb, now(), now())
       on conflict (identity) do update set host = excluded.host, pid = excluded.pid, task_queue = excluded.task_queue,
         sandbox = excluded.sandbox, started_at = excluded.started_at, seen_at = excluded.seen_at`,
    [identity, os.hostname(), process.pid, reg.taskQueue, JSON.stringify(reg.sandbox)],
    'run',
  );
  const timer = setInterval(() => {
    void conn()
      .execute('update worker_registrations set seen_at = now() where identity = ?', [identity], 'run')
      .catch(() => undefined);
  }, REFRESH_MS);
  timer.unref();
  return {
    identity,
    stop: async () => {
      clearInterval(timer);
      await conn()
        .execute('delete from worker_registrations where identity = ?', [identity], 'run')
        .catch(() => undefined);
    },
  };
}

/** The workers seen in the last WORKER_STALE_SECONDS, newest first. */
export async function liveWorkers(orm: MikroORM): Promise<WorkerSandboxView[]> {
  const rows = (await orm.em.getConnection().execute(
    `select identity, host, pid, task_queue, sandbox, started_at, seen_at from worker_registrations
      where seen_at > now() - make_interval(secs => ?) order by seen_at desc limit 50`,
    [WORKER_STALE_SECONDS],
  )) as Array<{
    identity: string;
    host: string;
    pid: number;
    task_queue: string;
    sandbox: Record<string, unknown>;
    started_at: Date;
    seen_at: Date;
  }>;
  return rows.map((r) => ({
    identity: r.identity,
    host: r.host,
    pid: r.pid,
    taskQueue: r.task_queue,
    queues: r.task_queue.split(','),
    sandbox: r.sandbox,
    startedAt: new Date(r.started_at).toISOString(),
    seenAt: new Date(r.seen_at).toISOString(),
  }));
}

/**
 * One word for what the live workers with a sandbox report: their common mode, `mixed`, or `unknown` when no such
 * worker is live.
 */
export function isolationSummary(workers: WorkerSandboxView[]): string {
  const modes = [
    ...new Set(workers.filter((w) => w.sandbox.isolation !== undefined).map((w) => String(w.sandbox.isolation))),
  ];
  if (modes.length === 0) return 'unknown';
  return modes.length === 1 ? (modes[0] ?? 'unknown') : 'mixed';
}

/**
 * Each kind's task queue (derived from the base queue) with the number of live workers polling it: a queue at 0 has
 * no worker, and its work waits until one starts.
 */
export function queueCoverage(
  workers: WorkerSandboxView[],
  baseQueue: string,
): Record<QueueKind, { queue: string; workers: number }> {
  const queues = activityQueues(baseQueue);
  const count = (queue: string) => workers.filter((w) => w.queues.includes(queue)).length;
  return Object.fromEntries(
    QUEUE_KINDS.map((kind) => [kind, { queue: queues[kind], workers: count(queues[kind]) }]),
  ) as Record<QueueKind, { queue: string; workers: number }>;
}
