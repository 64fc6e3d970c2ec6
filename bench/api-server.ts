import { AsyncLocalStorage } from 'node:async_hooks';
import http from 'node:http';
import Koa from 'koa';
import pg from 'pg';
import { loadConfig } from '../src/config';
import { createOrm } from '../src/db/orm';
import { createLogger } from '../src/logger';
import { createMetrics } from '../src/metrics';
import { startApi } from '../src/bin/processes';
import { createApiKey } from '../src/auth/api-keys';
import { securityHeaders } from '../src/api/middleware/security-headers';

/**
 * Child process of the API benches (bench/api.bench.ts, bench/run.ts, bench/profile.ts): a bare Koa route and the
 * full API (and the same without the agents cache), each on its own port, and bare Koa answering any path with the
 * bytes the API answers it (and the security headers). Prints one JSON line `{ bare, sameBytes, api, apiNoCache, key }`
 * (origins; bare is a URL) when listening.
 *
 * When started with an IPC channel it also answers `{ cmd: 'idle' }` (replies `{ idle: true }` once no request is in
 * flight: load left over from the previous route is drained), `{ cmd: 'capture' }` (record the SQL statements of the
 * next request that carries the header `x-bench-capture`), `{ cmd: 'collect' }` (stop and reply
 * `{ queries: [{ text, values }] }`), `{ cmd: 'now' }` (its monotonic clock in µs) and `{ cmd: 'exit' }` (a clean exit, so that `node --cpu-prof` writes its
 * profile). Recording wraps pg's `Client#query`, below whatever builds the SQL, so it sees the routes' queries as they
 * are on this branch; an AsyncLocalStorage started with the marked request keeps other requests' statements out.
 */
interface Captured {
  text: string;
  values: unknown[];
}

let capturing: Captured[] | undefined;
let inFlight = 0;
const marked = new AsyncLocalStorage<true>();

const originalEmit = http.Server.prototype.emit;
http.Server.prototype.emit = function (this: http.Server, event: string, ...args: unknown[]) {
  if (event === 'request') {
    const [req, res] = args as [http.IncomingMessage, http.ServerResponse];
    inFlight++;
    res.once('close', () => inFlight--);
    if (req.headers['x-bench-capture'] !== undefined)
      return marked.run(true, () => Reflect.apply(originalEmit, this, [event, ...args]) as boolean);
  }
  return Reflect.apply(originalEmit, this, [event, ...args]) as boolean;
} as typeof http.Server.prototype.emit;

const originalQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  if (capturing !== undefined && marked.getStore() === true) {
    const [first, second] = args;
    if (typeof first === 'string') capturing.push({ text: first, values: Array.isArray(second) ? second : [] });
    else if (first !== null && typeof first === 'object' && 'text' in first) {
      const q = first as { text: string; values?: unknown[] };
      capturing.push({ text: q.text, values: q.values ?? [] });
    }
  }
  return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
} as typeof pg.Client.prototype.query;

async function main(): Promise<void> {
  const config = loadConfig({ ...process.env, API_PORT: '0', LOG_LEVEL: 'error', RATE_LIMIT_ENABLED: 'false' });
  const bare = new Koa();
  bare.use((ctx) => {
    ctx.body = { ok: true };
  });
  const bareServer = bare.listen(0, '127.0.0.1');
  await new Promise((r) => bareServer.once('listening', r));
  const orm = await createOrm(config.database);
  const { key } = await createApiKey(orm.em.fork(), { name: `bench-${Date.now()}`, role: 'viewer' });
  const api = await startApi({ config, orm, logger: createLogger(config.log), metrics: createMetrics() });
  // The same API without the agents cache, to measure what the cache buys.
  const apiNoCache = await startApi({
    config: { ...config, api: { ...config.api, agentsCache: false } },
    orm,
    logger: createLogger(config.log),
    metrics: createMetrics(),
  });
  const barePort = (bareServer.address() as { port: number }).port;
  // The floor of each route: bare Koa sending that route's very bytes (fetched once from the API, on the first request
  // for its path) with the same security headers, and nothing else (no auth, metrics, routing, database).
  const bytesOf = new Map<string, Promise<Buffer>>();
  const sameBytes = new Koa();
  sameBytes.use(securityHeaders());
  sameBytes.use(async (ctx) => {
    const url = ctx.url;
    let bytes = bytesOf.get(url);
    if (bytes === undefined) {
      bytes = fetch(`${api.url}${url}`, { headers: { Authorization: `Bearer ${key}` } }).then(async (res) => {
        if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
        return Buffer.from(await res.arrayBuffer());
      });
      bytesOf.set(url, bytes);
    }
    ctx.type = 'application/json';
    ctx.body = await bytes;
  });
  const sameBytesServer = sameBytes.listen(0, '127.0.0.1');
  await new Promise((r) => sameBytesServer.once('listening', r));
  const sameBytesPort = (sameBytesServer.address() as { port: number }).port;
  process.on('message', (msg: { cmd?: string }) => {
    if (msg.cmd === 'idle') {
      const check = () => (inFlight === 0 ? process.send?.({ idle: true }) : setTimeout(check, 20));
      check();
    } else if (msg.cmd === 'capture') {
      capturing = [];
      process.send?.({ capturing: true });
    } else if (msg.cmd === 'collect') {
      process.send?.({ queries: capturing ?? [] });
      capturing = undefined;
    } else if (msg.cmd === 'now') {
      // CLOCK_MONOTONIC in µs: the clock of the V8 profile's timestamps, so the parent can cut the profile to a window.
      process.send?.({ now: Number(process.hrtime.bigint() / 1000n) });
    } else if (msg.cmd === 'exit') {
      process.exit(0);
    }
  });
  process.stdout.write(
    `${JSON.stringify({ bare: `http://127.0.0.1:${barePort}/`, sameBytes: `http://127.0.0.1:${sameBytesPort}`, api: api.url, apiNoCache: apiNoCache.url, key })}\n`,
  );
}
void main();
