import { EntitySchema } from '@mikro-orm/core';

/**
 * A worker process as it announced itself: where it runs, which task queue it polls and how its sandbox isolates target
 * code. The API (a separate process with no sandbox of its own) reads these to show the active isolation mode in
 * `/readyz`, `GET /api/system` and the console; `seenAt` is refreshed while the worker lives.
 */
export class WorkerRegistration {
  identity: string;
  host: string;
  pid: number;
  taskQueue: string;
  /** The sandbox's `info`: isolation mode, limits, what the mode does not guarantee. */
  sandbox: Record<string, unknown>;
  startedAt: Date = new Date();
  seenAt: Date = new Date();

  constructor(init: Pick<WorkerRegistration, 'identity' | 'host' | 'pid' | 'taskQueue' | 'sandbox'>) {
    this.identity = init.identity;
    this.host = init.host;
    this.pid = init.pid;
    this.taskQueue = init.taskQueue;
    this.sandbox = init.sandbox;
  }
}

export const WorkerRegistrationSchema = new EntitySchema<WorkerRegistration>({
  class: WorkerRegistration,
  tableName: 'worker_registrations',
  indexes: [{ properties: ['seenAt'] }],
  properties: {
    identity: { type: 'string', length: 200, primary: true },
    host: { type: 'string', length: 255 },
    pid: { type: 'integer' },
    taskQueue: { type: 'text' },
    sandbox: { type: 'json' },
    startedAt: { type: 'Date', columnType: 'timestamptz' },
    seenAt: { type: 'Date', columnType: 'timestamptz' },
  },
});
