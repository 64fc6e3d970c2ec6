import path from 'node:path';
import { createApiKey } from '../auth/api-keys';
import { loadConfig } from '../config';
import { QUEUE_KINDS } from '../contracts';
import { ApiKey } from '../db/entities';
import { createOrm, ensureDatabase, runMigrations } from '../db/orm';
import { createLogger } from '../logger';
import { createMetrics } from '../metrics';
import { resolveTemporalCli } from '../temporal/cli';
import { EAGER_ACTIVITIES, startDevServer, type DevServer } from '../temporal/dev-server';
import { installTemporalRuntime } from '../temporal/runtime';
import { bootstrapData } from './bootstrap';
import { startApi, startWorker } from './processes';
import { runMain } from './run-main';
import { onShutdownSignal } from './signals';

/**
 * `npm run dev`: the whole system in one command — a Temporal dev server persisted under .data/ (unless
 * TEMPORAL_ADDRESS is set), the database created and migrated, the worker, the schedules and the API.
 */
runMain(async () => {
  const config = loadConfig({ LOG_FORMAT: 'pretty', ...process.env });
  const logger = createLogger(config.log);
  const log = logger.child({ component: 'dev' });

  let devServer: DevServer | undefined;
  if (config.temporal.address === undefined) {
    const cliPath = await resolveTemporalCli({
      cliPath: config.temporal.cliPath,
      cacheDir: config.temporal.cliCacheDir,
      logger: log,
    });
    devServer = await startDevServer({
      cliPath,
      port: config.temporal.devPort,
      uiPort: config.temporal.uiPort,
      dbFile: path.join(config.dataDir, 'temporal.db'),
      namespace: config.temporal.namespace,
      logger: log,
      dynamicConfig: EAGER_ACTIVITIES,
    });
  }
  try {
    await ensureDatabaseOrExplain(config.database.url);
    installTemporalRuntime(logger, config.worker.metricsAddress);
    const orm = await createOrm(config.database);
    const applied = await runMigrations(orm);
    if (applied.length > 0) log.info(`applied migrations: ${applied.join(', ')}`);
    await bootstrapData(orm, config, logger);
    const firstKey = await createFirstAdminKey(orm);
    // One process, one registry: the API's /metrics also shows the worker's llm_* metrics.
    const metrics = createMetrics();
    // The whole system in one process: every kind of work is polled here, whatever WORKER_QUEUES says.
    const worker = await startWorker({ config, orm, logger, metrics }, { queues: QUEUE_KINDS });
    const api = await startApi({ config, orm, logger, metrics });
    printBanner(api.url, devServer?.uiUrl, firstKey);
    await Promise.race([onShutdownSignal(log), worker.done]);
    await api.close();
    await worker.shutdown();
    await orm.close();
  } finally {
    await devServer?.stop();
    log.info('stopped');
  }
});

async function ensureDatabaseOrExplain(url: string): Promise<void> {
  try {
    await ensureDatabase(url);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`PostgreSQL is not reachable at DATABASE_URL (${reason}). Start PostgreSQL or set DATABASE_URL.`);
  }
}

/** On a system with no API key at all, makes one admin key for the developer and returns it (shown once). */
async function createFirstAdminKey(orm: Awaited<ReturnType<typeof createOrm>>): Promise<string | undefined> {
  const em = orm.em.fork();
  if ((await em.count(ApiKey, {})) > 0) return undefined;
  const { key } = await createApiKey(em, { name: 'dev-admin', role: 'admin', createdBy: 'npm run dev' });
  return key;
}

function printBanner(apiUrl: string, uiUrl: string | undefined, firstKey: string | undefined): void {
  const lines = [
    '',
    `  Lvl_UP is running`,
    `  API          ${apiUrl}   (health ${apiUrl}/readyz, metrics ${apiUrl}/metrics)`,
    uiUrl ? `  Temporal UI  ${uiUrl}` : '  Temporal     TEMPORAL_ADDRESS (external server)',
    firstKey
      ? `  Admin key    ${firstKey}   (created now, shown once; keep it)`
      : '  API keys     npm run cli -- keys create --role admin --name you',
    `  Try          curl -H "Authorization: Bearer <key>" ${apiUrl}/api/agents`,
    '  Stop         Ctrl-C',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
