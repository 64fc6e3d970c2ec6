import os from 'node:os';
import path from 'node:path';
import { isIP } from 'node:net';
import { z } from 'zod';
import { rulesFromEnv, RULES_ENV } from './config-rules';
import { parseQueueKinds, QUEUE_KINDS } from './contracts/task-queues';
import { gitUrlProblem } from './domain/git-url';
import { LLM_PROVIDERS, parseProfile, type LlmProfile, type LlmProvider } from './domain/llm';
import { addressProblem, ALLOW_PRIVATE_HINT, describeRefusal, urlHost } from './notifications/webhook-address';

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
/** A boolean whose default depends on another variable: undefined when unset or empty. */
const optionalBool = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
    .optional()
    .transform((v) => (v === undefined ? undefined : v === 'true' || v === '1' || v === 'yes')),
);
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

/** 0 means "no limit". */
const count = (fallback: number) => z.coerce.number().int().min(0).default(fallback);
const profile = optionalString.refine((v) => v === undefined || parseProfile(v) !== undefined, {
  message: `must be provider:model with provider one of ${LLM_PROVIDERS.join(', ')} (e.g. openai:gpt-4o-mini)`,
});

/** `LLM_PRICES`: USD per million tokens by `provider:model` (a model name prefix matches its dated snapshots too). */
const llmPrices = z.record(
  z.string().refine((k) => parseProfile(k) !== undefined, {
    message: `keys must be provider:model with provider one of ${LLM_PROVIDERS.join(', ')}`,
  }),
  z.object({ inputPerMTok: z.number().finite().min(0), outputPerMTok: z.number().finite().min(0) }).strict(),
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
  AGENTS_CACHE: bool(true),
  BODY_LIMIT_BYTES: z.coerce.number().int().positive().default(1_000_000),
  TRUST_PROXY: bool(false),
  RATE_LIMIT_ENABLED: bool(true),
  RATE_LIMIT_WINDOW_MS: z.coerce.number().int().positive().default(60_000),
  RATE_LIMIT_MAX: z.coerce.number().int().positive().default(600),
  AUTH_FAILURE_LIMIT_MAX: count(20),
  AUTH_FAILURE_LIMIT_WINDOW_MS: z.coerce.number().int().positive().default(60_000),
  SSE_HEARTBEAT_MS: z.coerce.number().int().min(10).max(300_000).default(15_000),
  SSE_MAX_STREAMS_PER_KEY: z.coerce.number().int().positive().default(5),
  SSE_MAX_STREAMS: z.coerce.number().int().positive().default(200),
  SSE_MAX_LIFETIME_SECONDS: seconds(3600),
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
  /** a pre-built workflow bundle for the worker to load (default: workflow-bundle.js of `npm run build`, when present) */
  WORKFLOW_BUNDLE_PATH: optionalString,
  TEMPORAL_DEV_PORT: z.coerce.number().int().min(1).max(65535).default(7233),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  TEMPORAL_UI_URL: optionalString.refine((v) => v === undefined || /^https?:\/\//.test(v), {
    message: 'must be an http(s) URL',
  }),
  WORKER_METRICS_ADDRESS: optionalString,
  WORKER_APP_METRICS_ADDRESS: optionalString.refine((v) => v === undefined || /^[^:]*:\d+$/.test(v), {
    message: 'must be host:port',
  }),
  WORKER_SHUTDOWN_GRACE_SECONDS: seconds(10),
  WORKER_QUEUES: z
    .string()
    .default('')
    .refine((v) => parseQueueKinds(v) !== undefined, { message: `must be a comma list of ${QUEUE_KINDS.join(', ')}` })
    .transform((v) => parseQueueKinds(v) ?? [...QUEUE_KINDS]),
  WORKER_CONCURRENCY_WORKFLOWS: z.coerce.number().int().min(1).max(10_000).default(100),
  WORKER_CONCURRENCY_LLM: z.coerce.number().int().min(1).max(10_000).default(50),
  WORKER_CONCURRENCY_SANDBOX: z.coerce.number().int().min(1).max(10_000).default(os.availableParallelism()),
  /** concurrent activity task polls of each kind's worker (capped at its activity slots); unset: the SDK's min(10, slots) */
  WORKER_ACTIVITY_POLLERS: z.coerce.number().int().min(1).max(1000).optional(),
  /** concurrent workflow task polls of the `workflows` worker (at least 2); unset: the SDK's default (10) */
  WORKER_WORKFLOW_POLLERS: z.coerce.number().int().min(2).max(1000).optional(),
  /** workflows kept in the worker's sticky cache (0 replays every task from history); unset: the SDK's, from the heap size */
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(100_000).optional(),
  /** activity slots a workflow task may reserve for eager execution of activities on its own queue (0 turns it off) */
  WORKER_EAGER_ACTIVITIES: z.coerce.number().int().min(0).max(1000).default(3),
  ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS: seconds(30),

  IMPERIUM_LEARNING_INTERVAL: seconds(1800),
  GUARDIAN_SCAN_INTERVAL: seconds(900),
  SANDBOX_EXPERIMENT_INTERVAL: seconds(2700),
  CONQUEST_ANALYSIS_INTERVAL: seconds(1200),
  CUSTODY_TEST_INTERVAL: seconds(3600),
  SCHEDULE_CATCHUP_WINDOW: seconds(600),
  /** the reconciler's period, and the age a row must reach before it looks at it */
  RECONCILE_INTERVAL: seconds(60),
  RECONCILE_GRACE: z.coerce.number().int().min(0).default(30),
  /** workflow execution timeouts: a hung run times out and the reconciler ends its row (proposal: at least review + 1 day) */
  WORKFLOW_TIMEOUT_EXAM: seconds(2 * 3600),
  WORKFLOW_TIMEOUT_RUN: seconds(6 * 3600),
  WORKFLOW_TIMEOUT_PROPOSAL: seconds(8 * 24 * 3600),

  WEBHOOK_URL: optionalString.refine((v) => v === undefined || /^https?:\/\//.test(v), {
    message: 'must be an http(s) URL',
  }),
  WEBHOOK_SECRET: optionalString.refine((v) => v === undefined || v.length >= 16, {
    message: 'must be at least 16 characters',
  }),
  WEBHOOK_GIVE_UP_AFTER: seconds(3600),
  WEBHOOK_ALLOW_PRIVATE: bool(false),
  DATA_ENCRYPTION_KEY: optionalString.refine(
    (v) => v === undefined || /^[0-9a-fA-F]{64}$/.test(v) || Buffer.from(v, 'base64').length === 32,
    {
      message: 'must be 32 bytes as 64 hex characters or base64',
    },
  ),
  DATA_ENCRYPTION_KEY_PREVIOUS: optionalString,

  PROPOSAL_MAX_CHANGED_LINES: z.coerce.number().int().min(1).max(100_000).default(200),
  PROPOSAL_REVIEW_TIMEOUT: seconds(7 * 24 * 3600),
  /** an unavailable Guardian model review blocks the proposal instead of letting it on to review marked `unavailable` */
  PROPOSAL_REQUIRE_MODEL_REVIEW: bool(false),
  /** the key the API signs `review` Updates with and the worker verifies them with (default: derived from DATA_ENCRYPTION_KEY) */
  REVIEW_SIGNING_KEY: optionalString.refine((v) => v === undefined || v.length >= 32, {
    message: 'must be at least 32 characters',
  }),
  /** a signed review older than this (from the API's signing to the worker's check) is refused */
  PROPOSAL_REVIEW_MAX_AGE: seconds(600),

  CACHE_TTL: seconds(3600),
  CACHE_MAX_SIZE: z.coerce.number().int().positive().default(1000),

  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: optionalString.refine((v) => v === undefined || /^https?:\/\//.test(v), {
    message: 'must be an http(s) URL',
  }),
  ANTHROPIC_API_KEY: optionalString,
  ANTHROPIC_BASE_URL: optionalString.refine((v) => v === undefined || /^https?:\/\//.test(v), {
    message: 'must be an http(s) URL',
  }),
  LLM_PROFILE_PRIMARY: profile,
  LLM_PROFILE_FALLBACK: profile,
  LLM_PROFILE_EXAMINER: profile,
  LLM_PROFILE_JUDGE: profile,
  LLM_PROFILE_IMPERIUM: profile,
  LLM_PROFILE_GUARDIAN: profile,
  LLM_PROFILE_SANDBOX: profile,
  LLM_PROFILE_CONQUEST: profile,
  LLM_TIMEOUT_SECONDS: seconds(60),
  LLM_FALLBACK_AFTER_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(3),
  LLM_OPENAI_RPM: count(0),
  LLM_OPENAI_TPM: count(0),
  LLM_ANTHROPIC_RPM: count(0),
  LLM_ANTHROPIC_TPM: count(0),
  LLM_BUDGET_MONTHLY_TOKENS: count(5_000_000),
  LLM_BUDGET_MONTHLY_USD: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.coerce.number().positive().optional(),
  ),
  LLM_UNKNOWN_COST_POLICY: z.enum(['refuse', 'warn']).default('warn'),
  LLM_PRICES: optionalString.pipe(
    z
      .string()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined) return {};
        let raw: unknown;
        try {
          raw = JSON.parse(v);
        } catch {
          ctx.addIssue({
            code: 'custom',
            message: 'must be JSON such as {"openai:my-model": {"inputPerMTok": 0.5, "outputPerMTok": 1.5}}',
          });
          return z.NEVER;
        }
        const parsed = llmPrices.safeParse(raw);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          ctx.addIssue({
            code: 'custom',
            message: `${issue?.path.length ? `${issue.path.join('.')}: ` : ''}${issue?.message ?? 'invalid'} (expected {"provider:model": {"inputPerMTok": n, "outputPerMTok": n}})`,
          });
          return z.NEVER;
        }
        return parsed.data;
      }),
  ),
  LLM_CACHE_TTLS: optionalString.pipe(
    z
      .string()
      .regex(/^\s*[\w.:-]+\s*=\s*\d+\s*(,\s*[\w.:-]+\s*=\s*\d+\s*)*$/, {
        message: 'must be purpose=seconds[,purpose=seconds…]',
      })
      .optional(),
  ),

  TARGET_REPO_PATH: optionalString,
  TARGET_REPO_URL: optionalString.superRefine((v, ctx) => {
    const problem = v === undefined ? null : gitUrlProblem(v);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  }),
  TARGET_REPO_BRANCH: optionalString.refine(
    (v) => v === undefined || (/^[A-Za-z0-9._/-]+$/.test(v) && !/^[-/]|\.\.|\/\/|\/$|\.lock$|\.$/.test(v)),
    {
      message: 'must be a plain branch name (letters, digits, . _ - /)',
    },
  ),
  TARGET_FETCH_MIN_INTERVAL_SECONDS: count(10),
  TARGET_GIT_SSH_COMMAND: optionalString,
  TARGET_TEST_CMD: z.string().min(1).default('npm test'),
  TARGET_BENCH_CMD: optionalString,
  TARGET_NPM_REGISTRY: z
    .string()
    .default('https://registry.npmjs.org/')
    .refine((v) => /^https?:\/\/[^\s]+$/.test(v), { message: 'must be an http(s) URL' }),
  TARGET_SETUP_CMD: optionalString,
  TARGET_INSTALL_SCRIPTS: bool(false),
  TARGET_SETUP_NETWORK: bool(true),
  TARGET_SETUP_TIMEOUT_SECONDS: seconds(180),
  TARGET_DEPS_CACHE_MB: z.coerce.number().int().positive().default(2048),

  /** The custody protocol's and eligibility's thresholds (ARCHITECTURE §3.1), src/config-rules.ts. */
  ...RULES_ENV,

  CONQUEST_MIN_BASELINE: z.coerce.number().int().min(1).max(100).default(3),
  CONQUEST_BENCH_REPEATS: z.coerce.number().int().min(1).max(20).default(3),
  CONQUEST_REGRESSION_PCT: z.coerce.number().positive().max(10_000).default(20),
  CONQUEST_NOISE_K: z.coerce.number().min(0).max(100).default(3),

  /** Judge agreement (issue 15): the share of open items judged a second time, and when a judge's agreement is too low. */
  CUSTODY_AUDIT_SAMPLE_RATE: z.coerce.number().min(0).max(1).default(0.1),
  CUSTODY_JUDGE_MIN_ALPHA: z.coerce.number().min(-1).max(1).default(0.667),
  CUSTODY_JUDGE_MIN_PAIRS: z.coerce.number().int().min(2).max(10_000).default(5),
  CUSTODY_JUDGE_WINDOW_DAYS: z.coerce.number().int().min(1).max(3650).default(30),

  // Unset: required under NODE_ENV=production (see toConfig); an explicit false is the only way to run unisolated there.
  SANDBOX_REQUIRE_ISOLATION: optionalBool,
  SANDBOX_TIMEOUT_SECONDS: seconds(60),
  SANDBOX_MEMORY_MB: z.coerce.number().int().positive().default(1024),
  SANDBOX_CPU_SECONDS: seconds(60),
  SANDBOX_MAX_PROCESSES: z.coerce.number().int().positive().default(256),
  SANDBOX_MAX_FILE_MB: z.coerce.number().int().positive().default(1024),
  SANDBOX_BWRAP_PATH: optionalString,

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
  const parsed = envSchema
    .superRefine(checkProfilesHaveProviders)
    .superRefine(checkTargetSource)
    .superRefine(checkWebhookUrl)
    .safeParse(env);
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
      /** The agents list, one agent and the leaderboard from memory until PostgreSQL notifies a change. */
      agentsCache: e.AGENTS_CACHE,
      bodyLimitBytes: e.BODY_LIMIT_BYTES,
      trustProxy: e.TRUST_PROXY,
      adminApiKey: e.ADMIN_API_KEY,
      rateLimit: { enabled: e.RATE_LIMIT_ENABLED, windowMs: e.RATE_LIMIT_WINDOW_MS, max: e.RATE_LIMIT_MAX },
      /** failed authentications per client IP and window before the IP is refused (429) until the window ends; 0: off */
      authFailureLimit: { max: e.AUTH_FAILURE_LIMIT_MAX, windowMs: e.AUTH_FAILURE_LIMIT_WINDOW_MS },
      /** Server-Sent Events: heartbeat, open streams per API key and in all, and how long one stream may stay open. */
      sse: {
        heartbeatMs: e.SSE_HEARTBEAT_MS,
        maxStreamsPerKey: e.SSE_MAX_STREAMS_PER_KEY,
        maxStreams: e.SSE_MAX_STREAMS,
        maxLifetimeSeconds: e.SSE_MAX_LIFETIME_SECONDS,
      },
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
      workflowBundlePath: e.WORKFLOW_BUNDLE_PATH === undefined ? undefined : path.resolve(e.WORKFLOW_BUNDLE_PATH),
      devPort: e.TEMPORAL_DEV_PORT,
      uiPort: e.TEMPORAL_UI_PORT,
      uiUrl: e.TEMPORAL_UI_URL?.replace(/\/+$/, ''),
    },
    worker: {
      metricsAddress: e.WORKER_METRICS_ADDRESS,
      appMetricsAddress: e.WORKER_APP_METRICS_ADDRESS,
      shutdownGraceSeconds: e.WORKER_SHUTDOWN_GRACE_SECONDS,
      /** The kinds of work (task queues) this worker process polls. */
      queues: e.WORKER_QUEUES,
      /** Activity slots per kind: at most this many of the kind's activities run at once in this process. */
      concurrency: {
        workflows: e.WORKER_CONCURRENCY_WORKFLOWS,
        llm: e.WORKER_CONCURRENCY_LLM,
        sandbox: e.WORKER_CONCURRENCY_SANDBOX,
      },
      /** Temporal worker tuning (see `WorkerTuning` in temporal/worker.ts); undefined leaves the SDK's default. */
      tuning: {
        activityPollers: e.WORKER_ACTIVITY_POLLERS,
        workflowPollers: e.WORKER_WORKFLOW_POLLERS,
        maxCachedWorkflows: e.WORKER_MAX_CACHED_WORKFLOWS,
        eagerActivities: e.WORKER_EAGER_ACTIVITIES,
      },
      /** A long activity (LLM call, scan, sandbox run, install) not heard from for this long is retried elsewhere. */
      heartbeatTimeoutSeconds: e.ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS,
    },
    intervals: {
      imperiumLearning: e.IMPERIUM_LEARNING_INTERVAL,
      guardianScan: e.GUARDIAN_SCAN_INTERVAL,
      sandboxExperiment: e.SANDBOX_EXPERIMENT_INTERVAL,
      conquestAnalysis: e.CONQUEST_ANALYSIS_INTERVAL,
      custodyTest: e.CUSTODY_TEST_INTERVAL,
      scheduleCatchupWindow: e.SCHEDULE_CATCHUP_WINDOW,
      reconcile: e.RECONCILE_INTERVAL,
    },
    reconcile: { graceSeconds: e.RECONCILE_GRACE },
    workflowTimeouts: {
      examSeconds: e.WORKFLOW_TIMEOUT_EXAM,
      runSeconds: e.WORKFLOW_TIMEOUT_RUN,
      proposalSeconds: Math.max(e.WORKFLOW_TIMEOUT_PROPOSAL, e.PROPOSAL_REVIEW_TIMEOUT + 24 * 3600),
    },
    cache: { ttlSeconds: e.CACHE_TTL, maxSize: e.CACHE_MAX_SIZE },
    webhook: {
      url: e.WEBHOOK_URL,
      secret: e.WEBHOOK_SECRET,
      giveUpAfterSeconds: e.WEBHOOK_GIVE_UP_AFTER,
      allowPrivate: e.WEBHOOK_ALLOW_PRIVATE,
    },
    encryption: {
      key: e.DATA_ENCRYPTION_KEY,
      previousKeys: (e.DATA_ENCRYPTION_KEY_PREVIOUS ?? '')
        .split(',')
        .map((k) => k.trim())
        .filter((k) => k !== ''),
    },
    proposals: {
      maxChangedLines: e.PROPOSAL_MAX_CHANGED_LINES,
      reviewTimeoutSeconds: e.PROPOSAL_REVIEW_TIMEOUT,
      requireModelReview: e.PROPOSAL_REQUIRE_MODEL_REVIEW,
      /** never logged; src/crypto/review-signature.ts derives the HMAC key from it (or from DATA_ENCRYPTION_KEY) */
      reviewSigningKey: e.REVIEW_SIGNING_KEY,
      reviewMaxAgeSeconds: e.PROPOSAL_REVIEW_MAX_AGE,
    },
    target: {
      repoPath: e.TARGET_REPO_PATH === undefined ? undefined : path.resolve(e.TARGET_REPO_PATH),
      remote:
        e.TARGET_REPO_URL === undefined
          ? undefined
          : {
              url: e.TARGET_REPO_URL,
              branch: e.TARGET_REPO_BRANCH,
              fetchMinIntervalSeconds: e.TARGET_FETCH_MIN_INTERVAL_SECONDS,
              sshCommand: e.TARGET_GIT_SSH_COMMAND,
            },
      testCmd: e.TARGET_TEST_CMD,
      benchCmd: e.TARGET_BENCH_CMD,
    },
    /** The thresholds of §3.1 the domain functions take; an exam stores those it was planned under. */
    rules: rulesFromEnv(e),
    conquest: {
      minBaseline: e.CONQUEST_MIN_BASELINE,
      benchRepeats: e.CONQUEST_BENCH_REPEATS,
      regressionPct: e.CONQUEST_REGRESSION_PCT,
      noiseK: e.CONQUEST_NOISE_K,
    },
    /** Second judgings and the agreement they measure (src/domain/judges.ts). */
    judges: {
      auditSampleRate: e.CUSTODY_AUDIT_SAMPLE_RATE,
      minAlpha: e.CUSTODY_JUDGE_MIN_ALPHA,
      minPairs: e.CUSTODY_JUDGE_MIN_PAIRS,
      windowDays: e.CUSTODY_JUDGE_WINDOW_DAYS,
    },
    /** How a workspace gets the target's dependencies (ARCHITECTURE §2 "Workspaces"). */
    workspace: {
      setupCmd: e.TARGET_SETUP_CMD,
      installScripts: e.TARGET_INSTALL_SCRIPTS,
      setupNetwork: e.TARGET_SETUP_NETWORK,
      setupTimeoutSeconds: e.TARGET_SETUP_TIMEOUT_SECONDS,
      /** The one registry installs and Guardian's npm audit use; the target's own `.npmrc` is never read. */
      npmRegistry: e.TARGET_NPM_REGISTRY,
      depsCacheMb: e.TARGET_DEPS_CACHE_MB,
    },
    sandbox: {
      requireIsolation: e.SANDBOX_REQUIRE_ISOLATION ?? e.NODE_ENV === 'production',
      timeoutSeconds: e.SANDBOX_TIMEOUT_SECONDS,
      memoryMb: e.SANDBOX_MEMORY_MB,
      cpuSeconds: e.SANDBOX_CPU_SECONDS,
      maxProcesses: e.SANDBOX_MAX_PROCESSES,
      maxFileMb: e.SANDBOX_MAX_FILE_MB,
      bwrapPath: e.SANDBOX_BWRAP_PATH,
    },
    llm: llmConfig(e),
    log: { level: e.LOG_LEVEL, format: e.LOG_FORMAT },
  };
}

type Env = z.infer<typeof envSchema>;

const DEFAULT_MODELS: Record<LlmProvider, string> = { openai: 'gpt-4o-mini', anthropic: 'claude-3-5-haiku-latest' };
const PROFILE_VARS = [
  'LLM_PROFILE_PRIMARY',
  'LLM_PROFILE_FALLBACK',
  'LLM_PROFILE_EXAMINER',
  'LLM_PROFILE_JUDGE',
  'LLM_PROFILE_IMPERIUM',
  'LLM_PROFILE_GUARDIAN',
  'LLM_PROFILE_SANDBOX',
  'LLM_PROFILE_CONQUEST',
] as const;

function configuredProviders(e: Pick<Env, 'OPENAI_API_KEY' | 'OPENAI_BASE_URL' | 'ANTHROPIC_API_KEY'>): LlmProvider[] {
  const providers: LlmProvider[] = [];
  // An OpenAI-compatible server (Ollama, vLLM, LM Studio) needs a base URL but usually no key.
  if (e.OPENAI_API_KEY !== undefined || e.OPENAI_BASE_URL !== undefined) providers.push('openai');
  if (e.ANTHROPIC_API_KEY !== undefined) providers.push('anthropic');
  return providers;
}

function checkProfilesHaveProviders(e: Env, ctx: z.RefinementCtx): void {
  const providers = configuredProviders(e);
  for (const name of PROFILE_VARS) {
    const parsed = e[name] === undefined ? undefined : parseProfile(e[name]);
    if (parsed !== undefined && !providers.includes(parsed.provider)) {
      const needs = parsed.provider === 'openai' ? 'OPENAI_API_KEY or OPENAI_BASE_URL' : 'ANTHROPIC_API_KEY';
      ctx.addIssue({ code: 'custom', path: [name], message: `uses ${parsed.provider} but ${needs} is not set` });
    }
  }
}

/** A WEBHOOK_URL whose host is a private, loopback, link-local… IP literal needs WEBHOOK_ALLOW_PRIVATE (names are checked on delivery). */
function checkWebhookUrl(e: Env, ctx: z.RefinementCtx): void {
  if (e.WEBHOOK_URL === undefined || e.WEBHOOK_ALLOW_PRIVATE) return;
  let host: string;
  try {
    host = urlHost(new URL(e.WEBHOOK_URL));
  } catch {
    return; // the field's own check reports it
  }
  const problem = isIP(host) === 0 ? null : addressProblem(host);
  if (problem !== null)
    ctx.addIssue({
      code: 'custom',
      path: ['WEBHOOK_URL'],
      message: `${host} is ${describeRefusal(problem)}; ${ALLOW_PRIVATE_HINT}`,
    });
}

/** A target is a local path or a git remote, never both; a branch only means something for a remote. */
function checkTargetSource(e: Env, ctx: z.RefinementCtx): void {
  if (e.TARGET_REPO_URL !== undefined && e.TARGET_REPO_PATH !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['TARGET_REPO_URL'],
      message: 'set TARGET_REPO_URL or TARGET_REPO_PATH, not both',
    });
  }
  if (e.TARGET_REPO_BRANCH !== undefined && e.TARGET_REPO_URL === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['TARGET_REPO_BRANCH'],
      message: 'only applies with TARGET_REPO_URL (a local target works on its checked-out HEAD)',
    });
  }
}

function llmConfig(e: Env) {
  const providers = configuredProviders(e);
  const profileOf = (v: string | undefined): LlmProfile | undefined => (v === undefined ? undefined : parseProfile(v));
  // With no explicit profiles, the first configured provider is primary and the other one (if any) the fallback.
  const primary =
    profileOf(e.LLM_PROFILE_PRIMARY) ??
    (providers[0] && { provider: providers[0], model: DEFAULT_MODELS[providers[0]] });
  const otherProvider = providers.find((p) => p !== primary?.provider);
  const fallback =
    profileOf(e.LLM_PROFILE_FALLBACK) ??
    (otherProvider && { provider: otherProvider, model: DEFAULT_MODELS[otherProvider] });
  return {
    openai: providers.includes('openai') ? { apiKey: e.OPENAI_API_KEY, baseUrl: e.OPENAI_BASE_URL } : undefined,
    anthropic: providers.includes('anthropic')
      ? { apiKey: e.ANTHROPIC_API_KEY, baseUrl: e.ANTHROPIC_BASE_URL }
      : undefined,
    profiles: {
      primary,
      fallback,
      examiner: profileOf(e.LLM_PROFILE_EXAMINER),
      judge: profileOf(e.LLM_PROFILE_JUDGE),
      agents: {
        imperium: profileOf(e.LLM_PROFILE_IMPERIUM),
        guardian: profileOf(e.LLM_PROFILE_GUARDIAN),
        sandbox: profileOf(e.LLM_PROFILE_SANDBOX),
        conquest: profileOf(e.LLM_PROFILE_CONQUEST),
      },
    },
    timeoutMs: e.LLM_TIMEOUT_SECONDS * 1000,
    fallbackAfterAttempts: e.LLM_FALLBACK_AFTER_ATTEMPTS,
    rateLimits: {
      openai: { requestsPerMinute: e.LLM_OPENAI_RPM, tokensPerMinute: e.LLM_OPENAI_TPM },
      anthropic: { requestsPerMinute: e.LLM_ANTHROPIC_RPM, tokensPerMinute: e.LLM_ANTHROPIC_TPM },
    },
    defaultBudget: { monthlyTokens: e.LLM_BUDGET_MONTHLY_TOKENS || null, monthlyUsd: e.LLM_BUDGET_MONTHLY_USD ?? null },
    cacheTtlSeconds: { default: e.CACHE_TTL, byPurpose: parseTtls(e.LLM_CACHE_TTLS) },
    prices: e.LLM_PRICES,
    unknownCostPolicy: e.LLM_UNKNOWN_COST_POLICY,
  };
}

function parseTtls(v: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pair of v?.split(',') ?? []) {
    const [purpose, ttl] = pair.split('=').map((s) => s.trim());
    if (purpose && ttl) out[purpose] = Number(ttl);
  }
  return out;
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
