import type { LlmProvider } from '../../domain/llm';
import { LlmError, LLM_ERROR_TYPES } from '../errors';
import type { ProviderRequest } from '../types';

/**
 * Runs one SDK call under our own deadline — the request's `timeoutMs`, else the provider's configured one — with the
 * SDK's timeout a second later as a backstop, so that a timeout is recognised the same way in every runtime: the SDKs
 * tell timeouts from dropped connections by the abort error's class, which does not survive crossing JavaScript
 * realms (as under jest). The caller's signal (the activity's cancellation, an exam answer's time limit) still
 * aborts the call and is rethrown as the SDK reports it: a caller's abort is never taken for a provider timeout.
 */
export async function withDeadline<T>(
  provider: LlmProvider,
  req: Pick<ProviderRequest, 'signal' | 'timeoutMs'>,
  defaultTimeoutMs: number,
  call: (options: { signal: AbortSignal; timeout: number }) => Promise<T>,
): Promise<T> {
  const timeoutMs = req.timeoutMs ?? defaultTimeoutMs;
  const deadline = AbortSignal.timeout(timeoutMs);
  const { signal } = req;
  try {
    return await call({
      signal: signal === undefined ? deadline : AbortSignal.any([signal, deadline]),
      timeout: timeoutMs + 1000,
    });
  } catch (err) {
    if (deadline.aborted && !signal?.aborted) {
      throw new LlmError(LLM_ERROR_TYPES.timeout, `${provider} did not answer within ${timeoutMs} ms`, { cause: err });
    }
    throw err;
  }
}
