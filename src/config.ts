import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

/**
 * The one place that reads the environment. Every interval, threshold and limit of the system is here with its
 * default; `loadConfig` parses it once and returns a frozen, typed object that is passed to whoever needs it.
 */

const seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));
const csv = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  DATA_DIR: z.string().default('.data'),

  DATABASE_URL: z
    .string()
    .default('postgres://localhost:5432/lvlup')
    .refine((v) => /^postgres(ql)?:\/\/[^/]+\/[A-Za-z0-9_-]+(\?.*)?$/.test(v), {
      message: 'must be postgres://[user[:password]@]host[:port]/database',
    }),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(20),

  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  CORS_ORIGINS: csv,
  SECURITY_HEADERS: bool(true),
  BODY_LIMIT_BYTES: z.coerce.number().int().positive().default(1_000_000),
  TRUST_PROXY: bool(false),
  RATE_LIMIT_ENABLED: bool(true),
  RATE_LIMIT_WINDOW_MS: z.coerce.number().int().positive().default(60_000),
  RATE_LIMIT_MAX: z.coerce.number().int().positive().default(600),
  ADMIN_API_KEY: optionalString.refine((v) => v === undefined || v.length >= 24, {
    message: 'must be at least 24 characters',
  }),

  REDIS_URL: optionalString.refine((v) => v === undefined || /^rediss?:\/\//.test(v), {
    message: 'must start with redis:// or rediss://',
  }),

  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('lvlup'),
  TEMPORAL_API_KEY: optionalString,
  TEMPORAL_TLS: bool(false),
  TEMPORAL_CLI_PATH: optionalString,
  TEMPORAL_CLI_CACHE_DIR: optionalString,
  TEMPORAL_DEV_PORT: z.coerce.number().int().min(1).max(65535).default(7233),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  WORKER_METRICS_ADDRESS: optionalString,
  WORKER_SHUTDOWN_GRACE_SECONDS: seconds(10),

  IMPERIUM_LEARNING_INTERVAL: seconds(1800),
  GUARDIAN_SCAN_INTERVAL: seconds(900),
  SANDBOX_EXPERIMENT_INTERVAL: seconds(2700),
  CONQUEST_ANALYSIS_INTERVAL: seconds(1200),
  CUSTODY_TEST_INTERVAL: seconds(3600),
  SCHEDULE_CATCHUP_WINDOW: seconds(600),

  CACHE_TTL: seconds(3600),
  CACHE_MAX_SIZE: z.coerce.number().int().positive().default(1000),

  TARGET_REPO_PATH: optionalString,
  TARGET_TEST_CMD: z.string().min(1).default('npm test'),
  TARGET_BENCH_CMD: optionalString,

  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug', 'trace']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
});

export type Config = ReturnType<typeof toConfig>;

/** Thrown when the environment is invalid; `problems` lists every bad variable, not just the first. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment (by default `process.env`) into the frozen config; throws ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = issue.path.join('.');
      const value = env[name];
      const shown = value === undefined || /KEY|SECRET|PASSWORD|URL/.test(name) ? '' : ` (got "${value}")`;
      return `${name}: ${issue.message}${shown}`;
    });
    throw new ConfigError(problems);
  }
  return deepFreeze(toConfig(parsed.data));
}

function toConfig(e: z.infer<typeof envSchema>) {
  const dataDir = path.resolve(e.DATA_DIR);
  return {
    env: e.NODE_ENV,
    dataDir,
    database: { url: withDefaultUser(e.DATABASE_URL), poolSize: e.DATABASE_POOL_SIZE },
    api: {
      host: e.API_HOST,
      port: e.API_PORT,
      corsOrigins: e.CORS_ORIGINS,
      securityHeaders: e.SECURITY_HEADERS,
      bodyLimitBytes: e.BODY_LIMIT_BYTES,
      trustProxy: e.TRUST_PROXY,
      adminApiKey: e.ADMIN_API_KEY,
      rateLimit: { enabled: e.RATE_LIMIT_ENABLED, windowMs: e.RATE_LIMIT_WINDOW_MS, max: e.RATE_LIMIT_MAX },
    },
    redisUrl: e.REDIS_URL,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      apiKey: e.TEMPORAL_API_KEY,
      tls: e.TEMPORAL_TLS,
      cliPath: e.TEMPORAL_CLI_PATH,
      cliCacheDir: e.TEMPORAL_CLI_CACHE_DIR,
      devPort: e.TEMPORAL_DEV_PORT,
      uiPort: e.TEMPORAL_UI_PORT,
    },
    worker: {
      metricsAddress: e.WORKER_METRICS_ADDRESS,
      shutdownGraceSeconds: e.WORKER_SHUTDOWN_GRACE_SECONDS,
    },
    intervals: {
      imperiumLearning: e.IMPERIUM_LEARNING_INTERVAL,
      guardianScan: e.GUARDIAN_SCAN_INTERVAL,
      sandboxExperiment: e.SANDBOX_EXPERIMENT_INTERVAL,
      conquestAnalysis: e.CONQUEST_ANALYSIS_INTERVAL,
      custodyTest: e.CUSTODY_TEST_INTERVAL,
      scheduleCatchupWindow: e.SCHEDULE_CATCHUP_WINDOW,
    },
    cache: { ttlSeconds: e.CACHE_TTL, maxSize: e.CACHE_MAX_SIZE },
    target: {
      repoPath: e.TARGET_REPO_PATH === undefined ? undefined : path.resolve(e.TARGET_REPO_PATH),
      testCmd: e.TARGET_TEST_CMD,
      benchCmd: e.TARGET_BENCH_CMD,
    },
    log: { level: e.LOG_LEVEL, format: e.LOG_FORMAT },
  };
}

/** Like libpq, a URL without a user name connects as the operating-system user (node-postgres would send none). */
function withDefaultUser(url: string): string {
  const parsed = new URL(url);
  if (parsed.username !== '') return url;
  parsed.username = os.userInfo().username;
  return parsed.toString();
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
