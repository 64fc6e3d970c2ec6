import type { AppContext } from './types';

const DEFAULT_HEARTBEAT_MS = 15_000;

/** One open Server-Sent Events response. */
export interface SseStream {
  /** True once the client went away or `close()` was called; writes are then ignored. */
  readonly closed: boolean;
  /** Aborted when the stream closes, for waits that should end with it. */
  readonly signal: AbortSignal;
  /** Writes one event: `id:` (when given), `event:` and one `data:` line of JSON. */
  send(event: string, data: unknown, id?: string): void;
  /** Runs `fn` once when the stream closes (at once if it already has). */
  onClose(fn: () => void): void;
  /** Ends the response. */
  close(): void;
}

/**
 * The heartbeat interval of every SSE stream: `SSE_HEARTBEAT_MS`, default 15 s. Read here rather than in
 * src/config.ts, which other work owns for now; it belongs there (`api.sseHeartbeatMs`) the next time that file moves.
 * Throws on a value that is not an integer from 10 to 300000.
 */
export function sseHeartbeatMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.SSE_HEARTBEAT_MS;
  if (raw === undefined || raw === '') return DEFAULT_HEARTBEAT_MS;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 10 || ms > 300_000) throw new Error(`SSE_HEARTBEAT_MS must be an integer from 10 to 300000, not "${raw}"`);
  return ms;
}

/**
 * Turns the response into an event stream and sends its headers at once, so call it only once nothing can fail any
 * more (a handler's checks before it answer as normal JSON errors). Koa steps aside (`ctx.respond = false`) and the
 * stream writes to the socket itself; the headers middleware set (security, CORS, request id) go out with it, and the
 * access log and the HTTP metrics record the stream's opening with status 200, not its length. A `: ping` comment
 * goes out every `heartbeatMs` so proxies keep the connection; the stream closes when the client disconnects.
 */
export function openSse(ctx: AppContext, { heartbeatMs }: { heartbeatMs: number }): SseStream {
  const res = ctx.res;
  const closing = new AbortController();
  ctx.status = 200;
  ctx.respond = false;
  ctx.req.socket.setTimeout(0);
  ctx.req.socket.setNoDelay(true);
  ctx.req.socket.setKeepAlive(true);
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });

  const write = (chunk: string) => {
    if (!closing.signal.aborted) res.write(chunk);
  };
  const heartbeat = setInterval(() => write(': ping\n\n'), heartbeatMs);
  const finish = () => {
    if (closing.signal.aborted) return;
    clearInterval(heartbeat);
    closing.abort();
  };
  res.once('close', finish);
  if (res.destroyed) finish(); // the client left while the handler was still working
  // HEAD: the headers are the whole answer (a HEAD response has no body, so a stream would never answer at all).
  if (ctx.method === 'HEAD') {
    finish();
    res.end();
  }
  write(': connected\n\n');

  return {
    get closed() {
      return closing.signal.aborted;
    },
    signal: closing.signal,
    send: (event, data, id) => write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
    onClose: (fn) => {
      if (closing.signal.aborted) fn();
      else closing.signal.addEventListener('abort', fn, { once: true });
    },
    close: () => {
      finish();
      if (!res.writableEnded) res.end();
    },
  };
}
