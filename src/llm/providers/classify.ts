import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { LlmProvider } from '../../domain/llm';
import { LlmError, LLM_ERROR_TYPES } from '../errors';

type SdkApiError = InstanceType<typeof OpenAI.APIError> | InstanceType<typeof Anthropic.APIError>;

const isApiError = (err: unknown): err is SdkApiError =>
  err instanceof OpenAI.APIError || err instanceof Anthropic.APIError;
const isTimeout = (err: unknown) =>
  err instanceof OpenAI.APIConnectionTimeoutError || err instanceof Anthropic.APIConnectionTimeoutError;
const isAbort = (err: unknown) => err instanceof OpenAI.APIUserAbortError || err instanceof Anthropic.APIUserAbortError;

/**
 * Gives an SDK error its retry meaning (ARCHITECTURE §4): 429, 5xx, timeouts and unreadable answers are transient;
 * 400/401/403/404 and other refusals are not; an account out of credit is `LlmQuotaExhausted` (the fallback may
 * still answer). A cancelled call (the activity was cancelled) is rethrown unchanged.
 */
export function classifyProviderError(err: unknown, provider: LlmProvider): unknown {
  if (err instanceof LlmError || isAbort(err)) return err;
  if (isTimeout(err))
    return new LlmError(LLM_ERROR_TYPES.timeout, `${provider} did not answer in time`, { cause: err });
  if (!isApiError(err) || err.status === undefined) {
    // A dropped connection, or a body that is not the JSON the SDK expects.
    const why = err instanceof Error ? err.message : String(err);
    return new LlmError(
      LLM_ERROR_TYPES.unavailable,
      `${provider} could not be reached or answered unreadably: ${why}`,
      { cause: err },
    );
  }
  const status = err.status;
  const retryAfterMs = parseRetryAfter(err.headers);
  const detail = `${provider} answered ${status}: ${err.message}`;
  if (isQuotaExhausted(err)) return new LlmError(LLM_ERROR_TYPES.quotaExhausted, detail, { status, cause: err });
  if (status === 429) return new LlmError(LLM_ERROR_TYPES.rateLimited, detail, { status, retryAfterMs, cause: err });
  if (status === 408 || status >= 500)
    return new LlmError(LLM_ERROR_TYPES.unavailable, detail, { status, retryAfterMs, cause: err });
  return new LlmError(LLM_ERROR_TYPES.rejected, detail, { status, cause: err });
}

function isQuotaExhausted(err: SdkApiError): boolean {
  if (err.status === 402) return true;
  const body = JSON.stringify(err.error ?? {}).toLowerCase();
  // OpenAI: 429 with code insufficient_quota; Anthropic: 400 "Your credit balance is too low".
  return body.includes('insufficient_quota') || body.includes('credit balance');
}

/** `retry-after-ms` (OpenAI), else `retry-after` in seconds or as an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = Number(headers?.get('retry-after-ms') ?? NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers?.get('retry-after');
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
