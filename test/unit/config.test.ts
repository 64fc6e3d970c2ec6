import os from 'node:os';
import { ConfigError, loadConfig } from '../../src/config';

describe('config', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config.api.port).toBe(8000);
    expect(config.database.poolSize).toBe(20);
    expect(config.intervals.guardianScan).toBe(900);
    expect(config.cache.maxSize).toBe(1000);
    expect(Object.isFrozen(config.api)).toBe(true);
  });

  it('refuses a WEBHOOK_URL on a private or loopback IP literal unless WEBHOOK_ALLOW_PRIVATE, and parses the SSE limits', () => {
    expect(() => loadConfig({ WEBHOOK_URL: 'http://169.254.169.254/latest' })).toThrow(
      /WEBHOOK_URL: 169\.254\.169\.254 is a link-local .* WEBHOOK_ALLOW_PRIVATE/,
    );
    expect(() => loadConfig({ WEBHOOK_URL: 'http://0x7f000001:8080/hook' })).toThrow(
      /WEBHOOK_URL: 127\.0\.0\.1 is a loopback address/,
    );
    expect(
      loadConfig({ WEBHOOK_URL: 'http://127.0.0.1:8080/hook', WEBHOOK_ALLOW_PRIVATE: 'true' }).webhook,
    ).toMatchObject({ url: 'http://127.0.0.1:8080/hook', allowPrivate: true });
    expect(loadConfig({ WEBHOOK_URL: 'https://hooks.example.com/in' }).webhook.allowPrivate).toBe(false);
    expect(loadConfig({}).api.sse).toEqual({
      heartbeatMs: 15_000,
      maxStreamsPerKey: 5,
      maxStreams: 200,
      maxLifetimeSeconds: 3600,
    });
    expect(() => loadConfig({ SSE_HEARTBEAT_MS: '5' })).toThrow(/SSE_HEARTBEAT_MS/);
  });

  it('lists every invalid variable at once and never echoes secrets', () => {
    let error: unknown;
    try {
      loadConfig({ API_PORT: 'eighty', DATABASE_POOL_SIZE: '0', LOG_LEVEL: 'loud', ADMIN_API_KEY: 'short-secret' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'ADMIN_API_KEY',
      'API_PORT',
      'DATABASE_POOL_SIZE',
      'LOG_LEVEL',
    ]);
    expect((error as ConfigError).message).not.toContain('short-secret');
    expect((error as ConfigError).message).toContain('got "eighty"');
  });

  describe('LLM', () => {
    it('has no provider and no profile by default', () => {
      const { llm } = loadConfig({});
      expect(llm.openai).toBeUndefined();
      expect(llm.anthropic).toBeUndefined();
      expect(llm.profiles.primary).toBeUndefined();
      expect(llm.defaultBudget).toEqual({ monthlyTokens: 5_000_000, monthlyUsd: null });
    });

    it('makes the first configured provider primary and the other the fallback', () => {
      const { llm } = loadConfig({ OPENAI_API_KEY: 'sk-a', ANTHROPIC_API_KEY: 'sk-b' });
      expect(llm.profiles.primary).toEqual({ provider: 'openai', model: 'gpt-4o-mini' });
      expect(llm.profiles.fallback).toEqual({ provider: 'anthropic', model: 'claude-3-5-haiku-latest' });
    });

    it('takes an OpenAI-compatible server without a key and keeps colons in model names', () => {
      const { llm } = loadConfig({
        OPENAI_BASE_URL: 'http://localhost:11434/v1',
        LLM_PROFILE_PRIMARY: 'openai:llama3.1:8b',
      });
      expect(llm.openai).toEqual({ apiKey: undefined, baseUrl: 'http://localhost:11434/v1' });
      expect(llm.profiles.primary).toEqual({ provider: 'openai', model: 'llama3.1:8b' });
      expect(llm.profiles.fallback).toBeUndefined();
    });

    it('parses per-purpose cache TTLs', () => {
      const { llm } = loadConfig({ LLM_CACHE_TTLS: 'exam.grade=0, learning=86400', CACHE_TTL: '120' });
      expect(llm.cacheTtlSeconds).toEqual({ default: 120, byPurpose: { 'exam.grade': 0, learning: 86400 } });
    });

    it('rejects a malformed profile, a profile whose provider has no key, and bad TTLs, without echoing keys', () => {
      let error: unknown;
      try {
        loadConfig({
          LLM_PROFILE_PRIMARY: 'gpt-4o',
          LLM_PROFILE_JUDGE: 'anthropic:claude-sonnet-4-5',
          OPENAI_API_KEY: 'sk-secret-value',
          LLM_CACHE_TTLS: 'x',
        });
      } catch (err) {
        error = err;
      }
      const problems = (error as ConfigError).problems;
      expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
        'LLM_CACHE_TTLS',
        'LLM_PROFILE_JUDGE',
        'LLM_PROFILE_PRIMARY',
      ]);
      expect(problems.join('\n')).toMatch(/LLM_PROFILE_JUDGE: uses anthropic but ANTHROPIC_API_KEY is not set/);
      expect((error as ConfigError).message).not.toContain('sk-secret-value');
    });
  });

  it('reads the per-IP failed-authentication limit (0 turns it off) and rejects bad values', () => {
    expect(loadConfig({}).api.authFailureLimit).toEqual({ max: 20, windowMs: 60_000 });
    expect(
      loadConfig({ AUTH_FAILURE_LIMIT_MAX: '0', AUTH_FAILURE_LIMIT_WINDOW_MS: '1000' }).api.authFailureLimit,
    ).toEqual({ max: 0, windowMs: 1000 });
    expect(() => loadConfig({ AUTH_FAILURE_LIMIT_MAX: '-1' })).toThrow(/AUTH_FAILURE_LIMIT_MAX/);
    expect(() => loadConfig({ AUTH_FAILURE_LIMIT_WINDOW_MS: '0' })).toThrow(/AUTH_FAILURE_LIMIT_WINDOW_MS/);
  });

  it('reads the sandbox limits and rejects bad ones', () => {
    expect(loadConfig({}).sandbox).toMatchObject({
      requireIsolation: false,
      timeoutSeconds: 60,
      memoryMb: 1024,
      cpuSeconds: 60,
      maxProcesses: 256,
      maxFileMb: 1024,
    });
    expect(loadConfig({ SANDBOX_MAX_PROCESSES: '64', SANDBOX_MAX_FILE_MB: '10' }).sandbox).toMatchObject({
      maxProcesses: 64,
      maxFileMb: 10,
    });
    expect(() => loadConfig({ SANDBOX_MAX_PROCESSES: '0' })).toThrow(/SANDBOX_MAX_PROCESSES/);
    expect(loadConfig({ SANDBOX_REQUIRE_ISOLATION: 'true', SANDBOX_MEMORY_MB: '256' }).sandbox).toMatchObject({
      requireIsolation: true,
      memoryMb: 256,
    });
    expect(() => loadConfig({ SANDBOX_TIMEOUT_SECONDS: '0' })).toThrow(/SANDBOX_TIMEOUT_SECONDS/);
  });

  it("reads Conquest's regression rules with the spec's defaults and rejects bad ones", () => {
    expect(loadConfig({}).conquest).toEqual({ minBaseline: 3, benchRepeats: 3, regressionPct: 20, noiseK: 3 });
    expect(
      loadConfig({
        CONQUEST_MIN_BASELINE: '5',
        CONQUEST_BENCH_REPEATS: '1',
        CONQUEST_REGRESSION_PCT: '12.5',
        CONQUEST_NOISE_K: '0',
      }).conquest,
    ).toEqual({
      minBaseline: 5,
      benchRepeats: 1,
      regressionPct: 12.5,
      noiseK: 0,
    });
    for (const [name, value] of [
      ['CONQUEST_MIN_BASELINE', '0'],
      ['CONQUEST_BENCH_REPEATS', '2.5'],
      ['CONQUEST_REGRESSION_PCT', '-1'],
      ['CONQUEST_NOISE_K', 'x'],
    ]) {
      expect(() => loadConfig({ [name as string]: value })).toThrow(new RegExp(name as string));
    }
  });

  it('reads the registry npm audit asks, and only an http(s) URL', () => {
    expect(loadConfig({}).workspace.npmRegistry).toBe('https://registry.npmjs.org/');
    expect(loadConfig({ TARGET_NPM_REGISTRY: 'http://127.0.0.1:4873/' }).workspace.npmRegistry).toBe(
      'http://127.0.0.1:4873/',
    );
    expect(() => loadConfig({ TARGET_NPM_REGISTRY: 'file:///etc' })).toThrow(/TARGET_NPM_REGISTRY/);
  });

  it('requires sandbox isolation in production unless explicitly opted out', () => {
    expect(loadConfig({ NODE_ENV: 'production' }).sandbox.requireIsolation).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production', SANDBOX_REQUIRE_ISOLATION: '' }).sandbox.requireIsolation).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production', SANDBOX_REQUIRE_ISOLATION: 'false' }).sandbox.requireIsolation).toBe(
      false,
    );
    expect(loadConfig({ NODE_ENV: 'development' }).sandbox.requireIsolation).toBe(false);
    expect(loadConfig({ NODE_ENV: 'test', SANDBOX_REQUIRE_ISOLATION: 'true' }).sandbox.requireIsolation).toBe(true);
    expect(() => loadConfig({ SANDBOX_REQUIRE_ISOLATION: 'maybe' })).toThrow(/SANDBOX_REQUIRE_ISOLATION/);
  });

  describe('worker queues', () => {
    it('polls every kind by default, each with its cap (sandbox: one slot per CPU)', () => {
      const { worker } = loadConfig({});
      expect(worker.queues).toEqual(['workflows', 'llm', 'sandbox']);
      expect(worker.concurrency).toEqual({ workflows: 100, llm: 50, sandbox: os.availableParallelism() });
      expect(loadConfig({ WORKER_QUEUES: '' }).worker.queues).toEqual(['workflows', 'llm', 'sandbox']);
    });

    it('reads WORKER_QUEUES as a comma list of kinds (spaces, case and repeats ignored) and the per-kind caps', () => {
      expect(loadConfig({ WORKER_QUEUES: 'sandbox' }).worker.queues).toEqual(['sandbox']);
      expect(loadConfig({ WORKER_QUEUES: ' LLM , workflows,llm ' }).worker.queues).toEqual(['llm', 'workflows']);
      expect(
        loadConfig({ WORKER_CONCURRENCY_SANDBOX: '1', WORKER_CONCURRENCY_LLM: '8', WORKER_CONCURRENCY_WORKFLOWS: '20' })
          .worker.concurrency,
      ).toEqual({ workflows: 20, llm: 8, sandbox: 1 });
    });

    it('refuses an unknown kind and a cap below 1, naming the variable', () => {
      expect(() => loadConfig({ WORKER_QUEUES: 'workflows,gpu' })).toThrow(
        /WORKER_QUEUES: must be a comma list of workflows, llm, sandbox \(got "workflows,gpu"\)/,
      );
      expect(() => loadConfig({ WORKER_QUEUES: ',' })).not.toThrow();
      expect(() => loadConfig({ WORKER_CONCURRENCY_SANDBOX: '0' })).toThrow(/WORKER_CONCURRENCY_SANDBOX/);
    });

    it('reads the worker tuning: the SDK defaults when unset, eager activities 3; refuses a workflow poller count below 2', () => {
      expect(loadConfig({}).worker.tuning).toEqual({
        activityPollers: undefined,
        workflowPollers: undefined,
        maxCachedWorkflows: undefined,
        eagerActivities: 3,
      });
      expect(
        loadConfig({
          WORKER_ACTIVITY_POLLERS: '4',
          WORKER_WORKFLOW_POLLERS: '2',
          WORKER_MAX_CACHED_WORKFLOWS: '0',
          WORKER_EAGER_ACTIVITIES: '0',
        }).worker.tuning,
      ).toEqual({
        activityPollers: 4,
        workflowPollers: 2,
        maxCachedWorkflows: 0,
        eagerActivities: 0,
      });
      expect(() => loadConfig({ WORKER_WORKFLOW_POLLERS: '1' })).toThrow(/WORKER_WORKFLOW_POLLERS/);
    });
  });
});
