import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, type AppDeps } from './app';

export interface RunningApi {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Starts the HTTP server for the app; `close` stops accepting connections and waits for open requests to finish. */
export async function listen(deps: AppDeps, host: string, port: number): Promise<RunningApi> {
  const app = createApp(deps);
  const server = app.listen(port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
