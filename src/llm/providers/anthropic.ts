import Anthropic from '@anthropic-ai/sdk';
import type { MessageCreateParamsNonStreaming, Tool } from '@anthropic-ai/sdk/resources/messages';
import { LlmError, LLM_ERROR_TYPES } from '../errors';
import { withDeadline } from './deadline';
import type { ProviderClient, ProviderReply, ProviderRequest } from '../types';

/**
 * Anthropic Messages API. Structured output is a forced tool call whose input schema is the requested schema;
 * system messages become the `system` parameter. This SDK no longer takes `temperature` (deprecated by the API), so
 * it is not sent; it still keys the cache. SDK retries are off: Temporal is the one retry layer.
 */
export function anthropicProvider(opts: { apiKey?: string; baseUrl?: string; timeoutMs: number }): ProviderClient {
  const client = new Anthropic({
    apiKey: opts.apiKey,
    baseURL: opts.baseUrl,
    maxRetries: 0,
    timeout: opts.timeoutMs + 1000,
  });
  return {
    provider: 'anthropic',
    async complete(req: ProviderRequest): Promise<ProviderReply> {
      const system = req.messages
        .filter((m) => m.role === 'system')
        .map((m) => m.content)
        .join('\n\n');
      const params: MessageCreateParamsNonStreaming = {
        model: req.model,
        max_tokens: req.maxTokens,
        messages: req.messages
          .filter((m) => m.role !== 'system')
          .map((m) => ({ role: m.role as 'user' | 'assistant', content: m.content })),
        ...(system !== '' && { system }),
      };
      if (req.jsonSchema) {
        const tool: Tool = {
          name: req.jsonSchema.name,
          description: 'Give your answer by calling this tool with arguments that match its schema.',
          input_schema: req.jsonSchema.schema as Tool['input_schema'],
        };
        params.tools = [tool];
        params.tool_choice = { type: 'tool', name: tool.name };
      }
      const res = await withDeadline('anthropic', req, opts.timeoutMs, (options) =>
        client.messages.create(params, options),
      );
      if (!Array.isArray(res?.content))
        throw new LlmError(LLM_ERROR_TYPES.unavailable, 'anthropic answered without content');
      const toolUse = res.content.find((b) => b.type === 'tool_use');
      const text = res.content
        .filter((b) => b.type === 'text')
        .map((b) => (b.type === 'text' ? b.text : ''))
        .join('');
      return {
        text: toolUse === undefined ? text : JSON.stringify(toolUse.input),
        json: toolUse?.input,
        inputTokens: res.usage?.input_tokens ?? 0,
        outputTokens: res.usage?.output_tokens ?? 0,
      };
    },
  };
}
