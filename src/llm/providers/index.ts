import type { Config } from '../../config';
import type { LlmProvider } from '../../domain/llm';
import type { ProviderClient } from '../types';
import { anthropicProvider } from './anthropic';
import { openAiProvider } from './openai';

export { classifyProviderError, parseRetryAfter } from './classify';

/** One SDK client per configured provider. */
export function createProviders(llm: Config['llm']): Partial<Record<LlmProvider, ProviderClient>> {
  return {
    ...(llm.openai && { openai: openAiProvider({ ...llm.openai, timeoutMs: llm.timeoutMs }) }),
    ...(llm.anthropic && { anthropic: anthropicProvider({ ...llm.anthropic, timeoutMs: llm.timeoutMs }) }),
  };
}
