import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import { createApp, type AppDeps } from './app';
import type { AppState } from './types';

export interface RunningApi {
  /** the app being served, for tests that read its routers */
  app: Koa<AppState>;
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Open event streams get this long to end on their own when the server closes; then their connections are cut. */
const STREAM_GRACE_MS = 2000;

/**
 * Starts the HTTP server for the app; `close` stops accepting connections, waits for open requests to finish and, after
 * a short grace, closes what is still open (SSE streams never finish on their own).
 */
export async function listen(deps: AppDeps, host: string, port: number): Promise<RunningApi> {
  const app = createApp(deps);
  const server = app.listen(port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  return {
    app,
    server,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        const cut = setTimeout(() => server.closeAllConnections(), STREAM_GRACE_MS).unref();
        server.close((err) => {
          clearTimeout(cut);
          if (err) reject(err);
          else resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
