import { loadConfig } from '../config';
import { createOrm } from '../db/orm';
import { createLogger } from '../logger';
import { createMetrics, serveMetrics } from '../metrics';
import { installTemporalRuntime } from '../temporal/runtime';
import { bootstrapData } from './bootstrap';
import { startWorker } from './processes';
import { runMain } from './run-main';
import { onShutdownSignal } from './signals';

/** `npm run start:worker`: one Temporal worker (scale out by running more). */
runMain(async () => {
  const config = loadConfig();
  const logger = createLogger(config.log);
  installTemporalRuntime(logger, config.worker.metricsAddress);
  const orm = await createOrm(config.database);
  await bootstrapData(orm, config, logger);
  const metrics = createMetrics();
  const stopMetrics =
    config.worker.appMetricsAddress === undefined
      ? undefined
      : await serveMetrics(metrics.registry, config.worker.appMetricsAddress);
  const worker = await startWorker({ config, orm, logger, metrics });
  await Promise.race([onShutdownSignal(logger), worker.done]);
  await worker.shutdown();
  await stopMetrics?.();
  await orm.close();
});
