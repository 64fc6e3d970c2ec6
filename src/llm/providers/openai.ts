import OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { LlmError, LLM_ERROR_TYPES } from '../errors';
import { withDeadline } from './deadline';
import type { ProviderClient, ProviderReply, ProviderRequest } from '../types';

/**
 * OpenAI, or any OpenAI-compatible server (Ollama, vLLM, LM Studio) when `baseUrl` is set. SDK retries are off:
 * Temporal is the one retry layer.
 */
export function openAiProvider(opts: { apiKey?: string; baseUrl?: string; timeoutMs: number }): ProviderClient {
  const client = new OpenAI({
    // Local OpenAI-compatible servers ignore the key, but the SDK insists on one.
    apiKey: opts.apiKey ?? 'no-key-needed',
    baseURL: opts.baseUrl,
    maxRetries: 0,
    timeout: opts.timeoutMs + 1000,
  });
  // OpenAI's newer models only take max_completion_tokens; compatible servers mostly know only max_tokens.
  const official = opts.baseUrl === undefined;
  return {
    provider: 'openai',
    async complete(req: ProviderRequest): Promise<ProviderReply> {
      const params: ChatCompletionCreateParamsNonStreaming = {
        model: req.model,
        messages: req.messages,
        temperature: req.temperature,
        ...(official ? { max_completion_tokens: req.maxTokens } : { max_tokens: req.maxTokens }),
        ...(req.jsonSchema && {
          response_format: {
            type: 'json_schema',
            json_schema: { name: req.jsonSchema.name, schema: req.jsonSchema.schema, strict: false },
          },
        }),
      };
      const res = await withDeadline('openai', req, opts.timeoutMs, (options) =>
        client.chat.completions.create(params, options),
      );
      const choice = Array.isArray(res?.choices) ? res.choices[0] : undefined;
      if (choice === undefined) throw new LlmError(LLM_ERROR_TYPES.unavailable, 'openai answered without choices');
      return {
        text: choice.message?.content ?? '',
        inputTokens: res.usage?.prompt_tokens ?? 0,
        outputTokens: res.usage?.completion_tokens ?? 0,
      };
    },
  };
}
