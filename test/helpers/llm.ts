import type { MikroORM } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import type { Config } from '../../src/config';
import { createLlmGateway, type LlmGateway } from '../../src/llm';
import { createLogger } from '../../src/logger';
import { createMetrics, type Metrics } from '../../src/metrics';
import { startFakeAnthropic, startFakeOpenAI, type FakeLlmServer } from '../fakes/llm-servers';

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

/** A gateway on `config` with its own metrics registry (returned for assertions). */
export function testGateway(config: Config, orm: MikroORM, redis?: Redis): { llm: LlmGateway; metrics: Metrics } {
  const metrics = createMetrics();
  return { llm: createLlmGateway({ config, orm, logger: createLogger(config.log), metrics, redis }), metrics };
}
