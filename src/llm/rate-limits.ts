import type { Config } from '../config';
import type { LlmProvider } from '../domain/llm';
import type { RateLimitStore } from '../rate-limit-store';
import { LlmError, LLM_ERROR_TYPES } from './errors';

const MINUTE_MS = 60_000;

export interface ProviderRateLimiter {
  /** Counts one request of about `tokens` tokens; throws a retryable `LlmRateLimited` with the wait when over a limit. */
  take(provider: LlmProvider, tokens: number): Promise<void>;
}

/**
 * Requests-per-minute and tokens-per-minute limits per provider, in fixed one-minute windows shared through the
 * store (Redis across workers, memory in one process). A limit of 0 is no limit.
 */
export function createProviderRateLimiter(
  store: RateLimitStore,
  limits: Config['llm']['rateLimits'],
): ProviderRateLimiter {
  return {
    async take(provider, tokens) {
      const { requestsPerMinute, tokensPerMinute } = limits[provider];
      if (requestsPerMinute > 0) {
        const { count, resetMs } = await store.hit(`llm:${provider}:requests`, MINUTE_MS);
        if (count > requestsPerMinute) throw limited(provider, `${requestsPerMinute} requests per minute`, resetMs);
      }
      if (tokensPerMinute > 0) {
        const { count, resetMs } = await store.hit(`llm:${provider}:tokens`, MINUTE_MS, tokens);
        // A single request larger than the whole limit still goes through in an otherwise empty window.
        if (count > tokensPerMinute && count !== tokens)
          throw limited(provider, `${tokensPerMinute} tokens per minute`, resetMs);
      }
    },
  };
}

function limited(provider: LlmProvider, limit: string, resetMs: number): LlmError {
  return new LlmError(
    LLM_ERROR_TYPES.rateLimited,
    `${provider} is limited to ${limit} here; the window resets in ${Math.ceil(resetMs / 1000)} s`,
    {
      retryAfterMs: Math.max(1, resetMs),
    },
  );
}
