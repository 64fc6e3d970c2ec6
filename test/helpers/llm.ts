import { z } from 'zod';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import type { Config } from '../../src/config';
import { createLlmGateway, type LlmGateway } from '../../src/llm';
import { createOrm } from '../../src/db/orm';
import { createLogger } from '../../src/logger';
import { createMetrics, type Metrics } from '../../src/metrics';
import {
  startFakeAnthropic,
  startFakeOpenAI,
  type FakeLlmServer,
  type FakeReply,
  type FakeRequest,
} from '../fakes/llm-servers';
import { testConfig } from './config';
import { createTestDatabase, type TestDatabase } from './database';

export interface FakeLlms {
  openai: FakeLlmServer;
  anthropic: FakeLlmServer;
  /**
   * Config variables pointing both providers at the fakes: primary `openai:gpt-4o-mini`, fallback
   * `anthropic:claude-3-5-haiku-latest` (unless overridden).
   */
  env(overrides?: Record<string, string>): Record<string, string>;
  reset(): void;
  close(): Promise<void>;
}

export async function startFakeLlms(): Promise<FakeLlms> {
  const [openai, anthropic] = await Promise.all([startFakeOpenAI(), startFakeAnthropic()]);
  return {
    openai,
    anthropic,
    env: (overrides = {}) => ({
      OPENAI_API_KEY: 'sk-test-fake',
      OPENAI_BASE_URL: openai.url,
      ANTHROPIC_API_KEY: 'sk-ant-test-fake',
      ANTHROPIC_BASE_URL: anthropic.url,
      LLM_PROFILE_PRIMARY: 'openai:gpt-4o-mini',
      LLM_PROFILE_FALLBACK: 'anthropic:claude-3-5-haiku-latest',
      ...overrides,
    }),
    reset: () => {
      openai.reset();
      anthropic.reset();
    },
    close: async () => {
      await Promise.all([openai.close(), anthropic.close()]);
    },
  };
}

/** Guardian's triage as the fake model gives it (`when('You are Guardian', triageAllTruePositive)`): every finding in the prompt a true positive, assessed `severity` (low by default: it raises none). */
export function triageAllTruePositive(req: FakeRequest, severity = 'low'): FakeReply {
  const ids = [...req.prompt.matchAll(/"id": "([0-9a-f-]{36})"/g)].map((m) => m[1]);
  return {
    json: {
      findings: ids.map((id) => ({
        id,
        verdict: 'true_positive',
        severity,
        explanation: 'Reachable from user input.',
        suggestedFix: 'Use a parameterized query.',
      })),
    },
  };
}

/** A structured answer for gateway tests. */
export const Verdict = z.object({ score: z.number().min(0).max(100), passed: z.boolean() });

/** An uncached request for a `Verdict`, told apart by `marker` (the fakes answer by marker). */
export const verdictRequest = (marker: string) => ({
  agentId: 'guardian' as const,
  purpose: 'test.verdict',
  messages: [{ role: 'user' as const, content: `Grade this answer. ${marker}` }],
  schema: Verdict,
  maxTokens: 200,
  temperature: 0,
  cacheTtlSeconds: 0,
});

/** A gateway on `config` with its own metrics registry (returned for assertions). */
export function testGateway(config: Config, orm: MikroORM, redis?: Redis): { llm: LlmGateway; metrics: Metrics } {
  const metrics = createMetrics();
  return { llm: createLlmGateway({ config, orm, logger: createLogger(config.log), metrics, redis }), metrics };
}

export interface LlmTestBed {
  readonly db: TestDatabase;
  readonly orm: MikroORM;
  readonly fakes: FakeLlms;
}

/** Registers beforeAll/afterAll for a test file that needs its own database, an ORM and the fake providers. */
export function useLlmTestBed(): LlmTestBed {
  const bed: { db?: TestDatabase; orm?: MikroORM; fakes?: FakeLlms } = {};
  beforeAll(async () => {
    bed.db = await createTestDatabase();
    bed.fakes = await startFakeLlms();
    bed.orm = await createOrm(testConfig(bed.db.url).database);
  });
  afterAll(async () => {
    await bed.orm?.close();
    await bed.fakes?.close();
    await bed.db?.drop();
  });
  const ready = <T>(value: T | undefined, name: string): T => {
    if (value === undefined) throw new Error(`the LLM test bed's ${name} is used before beforeAll ran`);
    return value;
  };
  return {
    get db() {
      return ready(bed.db, 'database');
    },
    get orm() {
      return ready(bed.orm, 'ORM');
    },
    get fakes() {
      return ready(bed.fakes, 'fake providers');
    },
  };
}

export interface UntrustedBlock {
  boundary: string;
  label: string;
  content: string;
}

/** The untrusted-data blocks of a prompt (src/llm/untrusted.ts), in order: each opening matched with its own end. */
export function untrustedBlocks(prompt: string): UntrustedBlock[] {
  const re = /<<<UNTRUSTED-DATA ([0-9a-f]{32}) ([^\n]*)>>>\n([\s\S]*?)\n<<<END UNTRUSTED-DATA \1>>>/g;
  return [...prompt.matchAll(re)].map((m) => ({ boundary: m[1] ?? '', label: m[2] ?? '', content: m[3] ?? '' }));
}

/** The content of the prompt's first untrusted block whose label starts with `label` (throws when there is none). */
export function untrustedContent(prompt: string, label: string): string {
  const block = untrustedBlocks(prompt).find((b) => b.label.startsWith(label));
  if (block === undefined) throw new Error(`no untrusted block labelled "${label}…" in the prompt`);
  return block.content;
}
