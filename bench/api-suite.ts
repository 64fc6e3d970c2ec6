import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import type { Client } from 'pg';

/** What the bench's API server child (bench/api-server.ts) offers the parent. */
export interface BenchServer {
  /** The bare Koa route. */
  bare: string;
  /** Origin of bare Koa answering a path with the API's bytes for it and the security headers (a route's floor). */
  sameBytes: string;
  /** The full API's origin. */
  api: string;
  /** The same API with AGENTS_CACHE off. */
  apiNoCache: string;
  /** A viewer API key. */
  key: string;
  child: ChildProcess;
  /** The server's monotonic clock in µs (the clock of `--cpu-prof` timestamps). */
  now(): Promise<number>;
  /** Resolves once the server has no request in flight (what the previous load left queued has drained). */
  idle(): Promise<void>;
  /** Sends one GET through the full stack (`origin`: api by default) and returns the SQL statements it ran, in order. */
  captureQueries(route: string, origin?: string): Promise<Array<{ text: string; values: unknown[] }>>;
  /** A clean exit (the child calls process.exit, which lets `--cpu-prof` write its profile). */
  close(): Promise<void>;
}

/** Runs bench/api-server as a child (compiled .js beside this file, or through ts-node when running from source). */
export async function startBenchServer(env: NodeJS.ProcessEnv, nodeArgs: string[] = []): Promise<BenchServer> {
  const fromSource = __filename.endsWith('.ts');
  const script = path.join(__dirname, fromSource ? 'api-server.ts' : 'api-server.js');
  const child = spawn(
    process.execPath,
    [...nodeArgs, ...(fromSource ? ['-r', 'ts-node/register/transpile-only'] : []), script],
    {
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      env,
    },
  );
  const stdout = child.stdout;
  if (stdout === null) throw new Error('bench API server: no stdout pipe');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const line = await Promise.race([
    new Promise<string>((resolve) => createInterface({ input: stdout }).once('line', resolve)),
    exited.then((code) => Promise.reject(new Error(`bench API server exited (code ${code}) before listening`))),
  ]);
  const target = JSON.parse(line) as {
    bare: string;
    sameBytes: string;
    api: string;
    apiNoCache: string;
    key: string;
  };
  const ask = <T>(cmd: string, field: string) =>
    new Promise<T>((resolve) => {
      const onMessage = (msg: Record<string, unknown>) => {
        if (!(field in msg)) return;
        child.off('message', onMessage);
        resolve(msg[field] as T);
      };
      child.on('message', onMessage);
      child.send({ cmd });
    });
  return {
    ...target,
    child,
    now: () => ask<number>('now', 'now'),
    async idle() {
      await ask<boolean>('idle', 'idle');
    },
    async captureQueries(route, origin = target.api) {
      await ask<boolean>('idle', 'idle');
      await ask<boolean>('capture', 'capturing');
      const res = await fetch(`${origin}${route}`, {
        headers: { Authorization: `Bearer ${target.key}`, 'x-bench-capture': '1' },
      });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`GET ${route}: HTTP ${res.status}`);
      // Statements the request started after its response (if any) land in the capture too.
      await new Promise((r) => setTimeout(r, 50));
      return ask('collect', 'queries');
    },
    async close() {
      if (child.exitCode !== null) return;
      child.send({ cmd: 'exit' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface LoadResult {
  /** Responses received in the run (0: the server answered nothing in time, the figures mean nothing). */
  completed: number;
  reqPerSec: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

/** autocannon against one URL, as bench:api always did (50 connections by default). */
export async function load(
  url: string,
  opts: { headers?: Record<string, string>; duration: number; connections: number },
): Promise<LoadResult> {
  const r = await autocannon({
    url,
    connections: opts.connections,
    duration: opts.duration,
    headers: opts.headers ?? {},
  });
  return {
    completed: r.requests.total,
    reqPerSec: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  };
}

/**
 * EXPLAIN (ANALYZE) of a captured read, with its captured parameters. Only plain reads are explained (ANALYZE runs
 * the statement). Returns the plan lines.
 */
export async function explain(db: Client, q: { text: string; values: unknown[] }): Promise<string[]> {
  const res = await db.query<{ 'QUERY PLAN': string }>(`explain (analyze, costs off, buffers off) ${q.text}`, q.values);
  return res.rows.map((r) => r['QUERY PLAN']);
}

/** Whether a captured statement is a read worth explaining (not a transaction command, a write or the key lookup). */
export function isRouteRead(text: string): boolean {
  const t = text.trim().toLowerCase();
  return (
    (t.startsWith('select') || t.startsWith('with')) && !/\bapi_keys\b/.test(t) && !/\b(insert|update|delete)\b/.test(t)
  );
}
