import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { Logger } from '../logger';
import { temporalAnswers } from './client';

export interface DevServerOptions {
  cliPath: string;
  port: number;
  /** Web UI port; omit for a headless server (tests). */
  uiPort?: number;
  /** SQLite file that keeps workflow state across restarts; omit for an in-memory server. */
  dbFile?: string;
  namespace: string;
  logger: Logger;
  readyTimeoutMs?: number;
  /** Server dynamic config (`--dynamic-config-value key=value`, the value as JSON), e.g. `EAGER_ACTIVITIES`. */
  dynamicConfig?: Record<string, string | number | boolean>;
}

/** Lets the server hand a worker the activities a workflow task schedules on the worker's own queue in the task's reply. */
export const EAGER_ACTIVITIES = { 'system.enableActivityEagerExecution': true } as const;

export interface DevServer {
  address: string;
  uiUrl: string | undefined;
  pid: number | undefined;
  stop(): Promise<void>;
}

/** Starts `temporal server start-dev` and resolves once its frontend answers; throws with its output if it dies first. */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port), '--log-level', 'warn'];
  args.push('--namespace', opts.namespace);
  if (opts.uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort));
  for (const [key, value] of Object.entries(opts.dynamicConfig ?? {}))
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  if (opts.dbFile !== undefined) {
    await mkdir(path.dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
  }
  const child = spawn(opts.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: false });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited: number | null | undefined;
  child.on('exit', (code) => {
    exited = code;
  });

  const address = `127.0.0.1:${opts.port}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (exited !== undefined) throw new Error(`Temporal dev server exited (${exited}) before it was ready:\n${output}`);
    if (await answers(address)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Temporal dev server did not answer on ${address} in time:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  opts.logger.info(`Temporal dev server on ${address}${opts.uiPort ? `, Web UI http://127.0.0.1:${opts.uiPort}` : ''}`);

  return {
    address,
    uiUrl: opts.uiPort === undefined ? undefined : `http://127.0.0.1:${opts.uiPort}`,
    pid: child.pid,
    stop: () => stopChild(child, () => exited !== undefined),
  };
}

async function answers(address: string): Promise<boolean> {
  const connection = Connection.lazy({ address, connectTimeout: 1000 });
  try {
    return await temporalAnswers(connection, 1000);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

async function stopChild(child: ReturnType<typeof spawn>, hasExited: () => boolean): Promise<void> {
  if (hasExited()) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await done;
  clearTimeout(timer);
}
