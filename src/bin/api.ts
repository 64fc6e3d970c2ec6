import { loadConfig } from '../config';
import { createOrm } from '../db/orm';
import { createLogger } from '../logger';
import { createMetrics } from '../metrics';
import { bootstrapData } from './bootstrap';
import { startApi } from './processes';
import { runMain } from './run-main';
import { onShutdownSignal } from './signals';

/** `npm run start:api`: the HTTP API alone (migrations are a separate step in production). */
runMain(async () => {
  const config = loadConfig();
  const logger = createLogger(config.log);
  const orm = await createOrm(config.database);
  await bootstrapData(orm, config, logger);
  const api = await startApi({ config, orm, logger, metrics: createMetrics() });
  await onShutdownSignal(logger);
  await api.close();
  await orm.close();
});
