import { createServer } from 'node:net';

/** Variables the global setup hands to every test worker. */
export const TEST_ENV = {
  runId: 'LVLUP_TEST_RUN_ID',
  template: 'LVLUP_TEST_TEMPLATE_DB',
  temporalAddress: 'LVLUP_TEST_TEMPORAL_ADDRESS',
  temporalCliPath: 'LVLUP_TEST_TEMPORAL_CLI',
} as const;

/** The PostgreSQL server the tests use: TEST_DATABASE_URL's server, else the local one. */
export function adminDatabaseUrl(database: string): string {
  const url = new URL(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = `/${database}`;
  return url.toString();
}

/** Reads a variable the global setup must have set. */
export function requiredTestEnv(name: (typeof TEST_ENV)[keyof typeof TEST_ENV]): string {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set: run the tests through jest (global setup)`);
  return value;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
