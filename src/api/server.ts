import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type Koa from 'koa';
import { instrumentQueries } from '../db/query-metrics';
import { TableCache } from '../db/table-cache';
import { createApp, type AppDeps } from './app';
import type { AppState } from './types';

export interface RunningApi {
  /** the app being served, for tests that read its routers */
  app: Koa<AppState>;
  server: Server;
  url: string;
  close(): Promise<void>;
}

/**
 * A request Node's HTTP parser refuses before Koa sees it (a method it does not know such as `FOO`, a malformed request
 * line, headers over the limit) is answered in the error shape too, instead of Node's bare text reply.
 */
function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'headers_too_large', 'the request headers are too large']
      : err.code === 'HPE_INVALID_METHOD'
        ? [400, 'Bad Request', 'bad_request', 'unknown HTTP method']
        : [400, 'Bad Request', 'bad_request', 'malformed HTTP request'];
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Open event streams get this long to end on their own when the server closes; then their connections are cut. */
const STREAM_GRACE_MS = 2000;

/**
 * Starts the HTTP server for the app; `close` stops accepting connections, waits for open requests to finish and, after
 * a short grace, closes what is still open (SSE streams never finish on their own).
 */
export async function listen(deps: AppDeps, host: string, port: number): Promise<RunningApi> {
  const agentsCache = deps.config.api.agentsCache
    ? new TableCache({
        connectionString: deps.config.database.url,
        logger: deps.logger.child({ component: 'cache' }),
        onRead: (result) => deps.metrics.apiCacheReads.inc({ cache: 'agents', result }),
      })
    : undefined;
  agentsCache?.start();
  const app = createApp({ ...deps, agentsCache });
  instrumentQueries(deps.orm, deps.metrics.dbQueryDuration);
  const server = app.listen(port, host);
  server.on('clientError', answerClientError);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
  } catch (err) {
    await agentsCache?.close();
    throw err;
  }
  const address = server.address() as AddressInfo;
  return {
    app,
    server,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    close: async () => {
      try {
        await new Promise<void>((resolve, reject) => {
          const cut = setTimeout(() => server.closeAllConnections(), STREAM_GRACE_MS).unref();
          server.close((err) => {
            clearTimeout(cut);
            if (err) reject(err);
            else resolve();
          });
          server.closeIdleConnections();
        });
      } finally {
        await agentsCache?.close();
      }
    },
  };
}
