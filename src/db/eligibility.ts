import type { EntityManager } from '@mikro-orm/postgresql';
import { proposalEligibility, type EligibilityDecision } from '../domain/eligibility';
import type { Rules } from '../domain/rules';
import { Agent, OPEN_PROPOSAL_STATES, Proposal } from './entities';

/**
 * An agent's proposal eligibility now (the pure rule of src/domain/eligibility.ts on its stored state), counting its
 * open proposals — other than `exceptProposalId`, the proposal asking — under the configured `rules`. The one place
 * the API, the proposal pipeline and the learning cycle read it from.
 */
export async function agentEligibility(
  em: EntityManager,
  agentId: string,
  rules: Rules,
  exceptProposalId?: string,
): Promise<EligibilityDecision & { openProposals: number }> {
  const agent = await em.findOneOrFail(Agent, { id: agentId as Agent['id'] });
  const openProposals = await em.count(Proposal, {
    agentId,
    status: { $in: [...OPEN_PROPOSAL_STATES] },
    ...(exceptProposalId !== undefined && { id: { $ne: exceptProposalId } }),
  });
  const decision = proposalEligibility(
    {
      status: agent.status,
      lastPassedAt: agent.lastPassedAt?.toISOString() ?? null,
      consecutiveFailures: agent.consecutiveFailures,
      openProposals,
      now: new Date().toISOString(),
    },
    rules,
  );
  return { ...decision, openProposals };
}
