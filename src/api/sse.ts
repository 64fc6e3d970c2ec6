import type { Config } from '../config';
import { HttpError } from './errors';
import type { AppContext } from './types';

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
 * Turns the response into an event stream and sends its headers at once, so call it only once nothing can fail any
 * more (a handler's checks before it answer as normal JSON errors). Koa steps aside (`ctx.respond = false`) and the
 * stream writes to the socket itself; the headers middleware set (security, CORS, request id) go out with it, and the
 * access log and the HTTP metrics record the stream's opening with status 200, not its length. A `: ping` comment
 * goes out every `heartbeatMs` so proxies keep the connection; the stream closes when the client disconnects, or
 * after `maxLifetimeMs` (the client reconnects, with Last-Event-ID where the stream has ids).
 */
export function openSse(
  ctx: AppContext,
  { heartbeatMs, maxLifetimeMs }: { heartbeatMs: number; maxLifetimeMs?: number },
): SseStream {
  const res = ctx.res;
  const closing = new AbortController();
  ctx.status = 200;
  ctx.respond = false;
  ctx.req.socket.setTimeout(0);
  ctx.req.socket.setNoDelay(true);
  ctx.req.socket.setKeepAlive(true);
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });

  const write = (chunk: string) => {
    if (!closing.signal.aborted) res.write(chunk);
  };
  const heartbeat = setInterval(() => write(': ping\n\n'), heartbeatMs);
  const lifetime =
    maxLifetimeMs === undefined
      ? undefined
      : setTimeout(() => {
          write(': maximum stream lifetime reached; reconnect\n\n');
          finish();
          if (!res.writableEnded) res.end();
        }, maxLifetimeMs);
  const finish = () => {
    if (closing.signal.aborted) return;
    clearInterval(heartbeat);
    clearTimeout(lifetime);
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
    send: (event, data, id) =>
      write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
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

export type SseLimits = Config['api']['sse'];

/**
 * The event streams open in this API process, counted per API key and in all (SSE_MAX_STREAMS_PER_KEY,
 * SSE_MAX_STREAMS): past either limit a new stream is a JSON 429 `too_many_streams`; a stream's slot is freed when it
 * closes (client gone, lifetime reached, or the stream ended). Every stream is closed after SSE_MAX_LIFETIME_SECONDS.
 */
export class SseStreams {
  private readonly perKey = new Map<string, number>();
  private total = 0;

  constructor(readonly limits: SseLimits) {}

  /** How many streams are open (all, or for one key). */
  count(keyId?: string): number {
    return keyId === undefined ? this.total : (this.perKey.get(keyId) ?? 0);
  }

  /**
   * Takes a slot for the caller's key, or throws the 429. Call it before anything that can fail, and pass the
   * returned release to `open`, or call it yourself when the stream is not opened after all (it is idempotent).
   */
  reserve(ctx: AppContext): () => void {
    const keyId = ctx.state.auth?.keyId ?? 'anonymous';
    const mine = this.perKey.get(keyId) ?? 0;
    if (mine >= this.limits.maxStreamsPerKey) {
      throw tooManyStreams(
        `this API key already has ${mine} open event streams (SSE_MAX_STREAMS_PER_KEY=${this.limits.maxStreamsPerKey}); close one first`,
      );
    }
    if (this.total >= this.limits.maxStreams) {
      throw tooManyStreams(
        `the API has ${this.total} open event streams (SSE_MAX_STREAMS=${this.limits.maxStreams}); try again later`,
      );
    }
    this.perKey.set(keyId, mine + 1);
    this.total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.perKey.get(keyId) ?? 1) - 1;
      if (left <= 0) this.perKey.delete(keyId);
      else this.perKey.set(keyId, left);
    };
  }

  /** Opens the stream (see `openSse`) with the configured heartbeat and lifetime; `release` runs when it closes. */
  open(ctx: AppContext, release: () => void): SseStream {
    const stream = openSse(ctx, {
      heartbeatMs: this.limits.heartbeatMs,
      maxLifetimeMs: this.limits.maxLifetimeSeconds * 1000,
    });
    stream.onClose(release);
    return stream;
  }
}

function tooManyStreams(message: string): HttpError {
  return new HttpError(429, 'too_many_streams', message, undefined, { 'Retry-After': '5' });
}
