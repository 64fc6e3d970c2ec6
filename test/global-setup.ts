import { randomBytes } from 'node:crypto';
import { createOrm, ensureDatabase, runMigrations } from '../src/db/orm';
import { createLogger } from '../src/logger';
import { resolveTemporalCli } from '../src/temporal/cli';
import { startDevServer } from '../src/temporal/dev-server';
import { adminDatabaseUrl, freePort, TEST_ENV } from './helpers/env';

/**
 * Once per test run: ONE Temporal dev server (in memory, headless, free port) and one freshly migrated template
 * database. Each test file clones the template into its own database, so files run in parallel without sharing rows.
 */
export default async function globalSetup(): Promise<void> {
  const logger = createLogger({ level: 'warn', format: 'pretty' });
  const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const template = `lvlup_test_${runId}`;

  const templateUrl = adminDatabaseUrl(template);
  await ensureDatabase(templateUrl);
  const orm = await createOrm({ url: templateUrl, poolSize: 2 });
  await runMigrations(orm);
  await orm.close();

  const cliPath = await resolveTemporalCli({ cliPath: process.env.TEMPORAL_CLI_PATH, logger });
  const server = await startDevServer({ cliPath, port: await freePort(), namespace: 'default', logger });

  process.env[TEST_ENV.runId] = runId;
  process.env[TEST_ENV.template] = template;
  process.env[TEST_ENV.temporalAddress] = server.address;
  process.env[TEST_ENV.temporalCliPath] = cliPath;
  (globalThis as { __lvlupDevServer?: typeof server }).__lvlupDevServer = server;
}
