import { ApplicationFailure, Context } from '@temporalio/activity';
import {
  LLM_OUTPUT_SCHEMAS,
  llmCompleteInput,
  type LlmCompleteInput,
  type LlmCompleteOutput,
  type LlmOutputOf,
  type LlmOutputSchemaName,
} from '../src/contracts/llm';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Agent } from '../src/db/entities';
import type { AgentId } from '../src/domain/agents';
import { isLlmError, type CallContext, type LlmGateway, type LlmRequest, type LlmResult } from '../src/llm';
import type { ActivityDeps } from './deps';

type OutputFor<S> = S extends LlmOutputSchemaName ? LlmOutputOf<S> : string;

/** The one door to LLM providers for workflows: budget-safe, cached, ledgered, with retry meaning on every failure. */
export function createLlmActivities({ llm }: Pick<ActivityDeps, 'llm'>) {
  return {
    /**
     * Completes `messages` (as JSON of the named schema when `schema` is given). Throws `ApplicationFailure`s typed
     * LlmNotConfigured, LlmBadOutput, LlmRequestRejected, LlmQuotaExhausted, BudgetExceeded (non-retryable),
     * LlmRateLimited, LlmProviderUnavailable, LlmTimeout (retryable, with the provider's retry-after as the delay),
     * and LlmInvalidRequest for bad input.
     */
    async llmComplete<S extends LlmOutputSchemaName | undefined = undefined>(
      input: LlmCompleteInput<S>,
    ): Promise<LlmCompleteOutput<OutputFor<S>>> {
      const parsed = llmCompleteInput.safeParse(input);
      if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ');
        throw ApplicationFailure.nonRetryable(`invalid llmComplete input: ${problems}`, 'LlmInvalidRequest');
      }
      const { schema, profile, ...rest } = parsed.data;
      const request: LlmRequest<unknown> = {
        ...rest,
        profile: profile as LlmRequest['profile'],
        ...(schema && { schema: LLM_OUTPUT_SCHEMAS[schema], schemaName: schema }),
      };
      try {
        const result = await llm.complete(request, activityCallContext());
        const { output, provider, model, usage, costUsd, cacheHit, fallbackUsed, repaired } = result;
        return { output: output as OutputFor<S>, provider, model, usage, costUsd, cacheHit, fallbackUsed, repaired };
      } catch (err) {
        throw toFailure(err);
      }
    },
  };
}

/** How many gateway calls each running activity attempt has made (the next call's `callSeq`). */
const callsMade = new WeakMap<Context, number>();

/**
 * Where an LLM call made inside an activity comes from (for the ledger and its row key, fallback-after-N and
 * cancellation). Each call of one attempt gets the next `callSeq`.
 */
export function activityCallContext(): CallContext {
  const ctx = Context.current();
  const callSeq = callsMade.get(ctx) ?? 0;
  callsMade.set(ctx, callSeq + 1);
  return {
    workflowId: ctx.info.workflowExecution?.workflowId,
    runId: ctx.info.workflowExecution?.runId,
    activityId: ctx.info.activityId,
    attempt: ctx.info.attempt,
    callSeq,
    signal: ctx.cancellationSignal,
  };
}

/**
 * One gateway call from inside an activity: the call's context from the activity, and a gateway error thrown as the
 * ApplicationFailure carrying its retry meaning.
 */
export async function askModel<T>(llm: LlmGateway, request: LlmRequest<T>): Promise<LlmResult<T>> {
  try {
    return await llm.complete(request, activityCallContext());
  } catch (err) {
    throw toFailure(err);
  }
}

/**
 * The agent's own model as stored through the API (`PUT /api/agents/:id/model`), as a request profile; undefined when
 * none is set, so the gateway uses the agent's configured profile (LLM_PROFILE_<AGENT>), else the primary.
 */
export async function agentProfile(orm: MikroORM, agentId: AgentId): Promise<LlmRequest['profile']> {
  const agent = await orm.em.fork().findOne(Agent, { id: agentId }, { fields: ['llmProvider', 'llmModel'] });
  return agent === null ? undefined : overrideProfile(agent);
}

/** An agent row's stored model override as a request profile; undefined when none is set. */
export function overrideProfile(agent: Pick<Agent, 'llmProvider' | 'llmModel'>): LlmRequest['profile'] {
  if (!agent.llmProvider || !agent.llmModel) return undefined;
  return `${agent.llmProvider}:${agent.llmModel}` as LlmRequest['profile'];
}

/**
 * `askModel` for an agent's own work (study, triage, experiment design, explanations, drafts, reviews): a request
 * naming its agent and no profile answers with the agent's stored model override when one is set.
 */
export async function askAgentModel<T>(
  deps: { orm: MikroORM; llm: LlmGateway },
  request: LlmRequest<T>,
): Promise<LlmResult<T>> {
  const profile =
    request.profile ?? (request.agentId === undefined ? undefined : await agentProfile(deps.orm, request.agentId));
  return askModel(deps.llm, profile === undefined ? request : { ...request, profile });
}

/** An `LlmError` as the `ApplicationFailure` carrying its retry meaning; anything else unchanged. */
export function toFailure(err: unknown): unknown {
  if (!isLlmError(err)) return err;
  return ApplicationFailure.create({
    message: err.message,
    type: err.type,
    nonRetryable: !err.retryable,
    nextRetryDelay: err.retryAfterMs,
    details: [
      { status: err.opts.status ?? null, scope: err.opts.scope ?? null, retryAfterMs: err.retryAfterMs ?? null },
    ],
  });
}
