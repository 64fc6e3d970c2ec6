import { loadConfig } from '../config';
import { createLogger } from '../logger';
import { resolveTemporalCli } from '../temporal/cli';
import { runMain } from './run-main';

/** `npm run temporal:cli`: finds or builds the Temporal CLI (used by dev, the tests and CI) and prints its path. */
runMain(async () => {
  const config = loadConfig();
  const logger = createLogger({ ...config.log, format: 'pretty' }).child({ component: 'temporal-cli' });
  const started = Date.now();
  const cliPath = await resolveTemporalCli({
    cliPath: config.temporal.cliPath,
    cacheDir: config.temporal.cliCacheDir,
    logger,
  });
  logger.info(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.stdout.write(`${cliPath}\n`);
});
