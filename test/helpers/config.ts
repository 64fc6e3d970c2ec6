import { ConfigError, loadConfig, type Config } from '../../src/config';
import { requiredTestEnv, TEST_ENV } from './env';

/** Config for a test: the run's Temporal server and the given database, quiet logs, plus any overrides. */
export function testConfig(databaseUrl: string, overrides: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_SIZE: '5',
    TEMPORAL_ADDRESS: requiredTestEnv(TEST_ENV.temporalAddress),
    API_HOST: '127.0.0.1',
    API_PORT: '0',
    LOG_LEVEL: 'error',
    LOG_FORMAT: 'json',
    // Tests write agents with their own entity manager and read them back through the API at once: the agents cache
    // would serve them the answer from before until the change notification lands (milliseconds). Its own tests, the
    // production-shape test and the bench run it on (the default).
    AGENTS_CACHE: 'false',
    ...overrides,
  });
}

/** The problems `loadConfig` reports for `env` (none: an empty list). */
export function configProblems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}
