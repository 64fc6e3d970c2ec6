import type { Config } from '../config';
import { LLM_PROFILE_ROLES, parseProfile, type LlmProfile, type LlmProfileRole } from '../domain/llm';
import { LlmError, LLM_ERROR_TYPES, notConfigured } from './errors';
import type { LlmRequest } from './types';

/**
 * The profiles to try, in order: the one the request names (a role such as `judge`, or `provider:model`), else its
 * agent's, else the primary; then the fallback when it differs. Throws `LlmNotConfigured` when there is none.
 */
export function resolveProfiles(
  profiles: Config['llm']['profiles'],
  req: Pick<LlmRequest, 'profile' | 'agentId'>,
): LlmProfile[] {
  let chosen: LlmProfile | undefined;
  if (req.profile === undefined) {
    chosen = (req.agentId && profiles.agents[req.agentId]) || profiles.primary;
  } else if ((LLM_PROFILE_ROLES as readonly string[]).includes(req.profile)) {
    chosen = profiles[req.profile as LlmProfileRole] ?? profiles.primary;
  } else {
    chosen = parseProfile(req.profile);
    if (chosen === undefined)
      throw new LlmError(LLM_ERROR_TYPES.rejected, `"${req.profile}" is neither a profile role nor provider:model`);
  }
  if (chosen === undefined) throw notConfigured();
  const fallback = profiles.fallback;
  const distinct = fallback !== undefined && (fallback.provider !== chosen.provider || fallback.model !== chosen.model);
  return distinct ? [chosen, fallback] : [chosen];
}

/**
 * Whether a failure should move on to the fallback profile: yes for failures retrying cannot fix (a refusal, an
 * account out of credit, unusable output, an exhausted provider budget); for transient ones only once the activity
 * has already been retried `afterAttempts` times, so a provider outage does not stall the work for good.
 */
export function shouldFallBack(err: unknown, attempt: number, afterAttempts: number): boolean {
  if (!(err instanceof LlmError)) return false;
  switch (err.type) {
    case LLM_ERROR_TYPES.rejected:
    case LLM_ERROR_TYPES.quotaExhausted:
    case LLM_ERROR_TYPES.badOutput:
    case LLM_ERROR_TYPES.notConfigured:
      return true;
    case LLM_ERROR_TYPES.budgetExceeded:
      return err.opts.scope?.startsWith('provider:') ?? false;
    default:
      return err.retryable && attempt >= afterAttempts;
  }
}
