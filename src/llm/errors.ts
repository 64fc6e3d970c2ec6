/**
 * Every way an LLM call can fail, with its retry meaning. The gateway throws these; the activity turns them into
 * `ApplicationFailure`s with the same stable `type` (and `nextRetryDelay` when the provider said how long to wait).
 */
export const LLM_ERROR_TYPES = {
  /** No provider (or not the one a profile names) is configured. */
  notConfigured: 'LlmNotConfigured',
  /** The reply was not valid JSON for the schema, even after one repair attempt. */
  badOutput: 'LlmBadOutput',
  /** The provider refused the request itself (400, 401, 403, 404, 422, …): retrying cannot help. */
  rejected: 'LlmRequestRejected',
  /** The provider account is out of credit or quota: retrying cannot help, the fallback might. */
  quotaExhausted: 'LlmQuotaExhausted',
  /** Too many requests or tokens per minute, locally or at the provider. */
  rateLimited: 'LlmRateLimited',
  /** 5xx, a dropped connection or an unreadable response. */
  unavailable: 'LlmProviderUnavailable',
  timeout: 'LlmTimeout',
  /** The call would take a monthly budget past its limit. */
  budgetExceeded: 'BudgetExceeded',
  /** The model has no known price while a USD budget applies and `LLM_UNKNOWN_COST_POLICY=refuse`: not sent. */
  costUnknown: 'LlmCostUnknown',
} as const;
export type LlmErrorType = (typeof LLM_ERROR_TYPES)[keyof typeof LLM_ERROR_TYPES];

const RETRYABLE: ReadonlySet<LlmErrorType> = new Set([
  LLM_ERROR_TYPES.rateLimited,
  LLM_ERROR_TYPES.unavailable,
  LLM_ERROR_TYPES.timeout,
]);

export class LlmError extends Error {
  readonly retryable: boolean;

  constructor(
    readonly type: LlmErrorType,
    message: string,
    readonly opts: { retryAfterMs?: number; status?: number; scope?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = type;
    this.retryable = RETRYABLE.has(type);
  }

  get retryAfterMs(): number | undefined {
    return this.opts.retryAfterMs;
  }
}

export function isLlmError(err: unknown): err is LlmError {
  return err instanceof LlmError;
}

/** `LlmNotConfigured`, saying which variables to set. */
export function notConfigured(detail?: string): LlmError {
  return new LlmError(
    LLM_ERROR_TYPES.notConfigured,
    detail ??
      'no LLM provider is configured: set OPENAI_API_KEY (or OPENAI_BASE_URL for an OpenAI-compatible server such as ' +
        'Ollama or vLLM) or ANTHROPIC_API_KEY, and optionally LLM_PROFILE_PRIMARY=provider:model',
  );
}
