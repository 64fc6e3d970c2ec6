import type { LlmProvider } from '../../domain/llm';
import { LlmError, LLM_ERROR_TYPES } from '../errors';

/**
 * Runs one SDK call under our own deadline (besides the SDK's timeout, kept as a backstop) so that a timeout is
 * recognised the same way in every runtime: the SDKs tell timeouts from dropped connections by the abort error's
 * class, which does not survive crossing JavaScript realms (as under jest). The caller's signal (the activity's
 * cancellation) still cancels the call and is rethrown as the SDK reports it.
 */
export async function withDeadline<T>(
  provider: LlmProvider,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const deadline = AbortSignal.timeout(timeoutMs);
  try {
    return await call(signal === undefined ? deadline : AbortSignal.any([signal, deadline]));
  } catch (err) {
    if (deadline.aborted && !signal?.aborted) {
      throw new LlmError(LLM_ERROR_TYPES.timeout, `${provider} did not answer within ${timeoutMs} ms`, { cause: err });
    }
    throw err;
  }
}
