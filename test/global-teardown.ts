import { Client } from 'pg';
import type { DevServer } from '../src/temporal/dev-server';
import { adminDatabaseUrl, TEST_ENV } from './helpers/env';

/** Stops the shared Temporal dev server and drops every database this run created. */
export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __lvlupDevServer?: DevServer }).__lvlupDevServer?.stop();
  const runId = process.env[TEST_ENV.runId];
  if (runId === undefined) return;
  const client = new Client({ connectionString: adminDatabaseUrl('postgres') });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      `select datname from pg_database where datname like $1 or datname like $2`,
      [`lvlup_test_${runId}`, `lvlup_t_${runId}_%`],
    );
    for (const { datname } of rows) await client.query(`drop database if exists "${datname}" with (force)`);
  } finally {
    await client.end();
  }
}
