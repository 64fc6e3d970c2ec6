import type { EntityManager } from '@mikro-orm/postgresql';
import { Agent, OPEN_PROPOSAL_STATES, Proposal } from '../../src/db/entities';
import { proposalEligibility, type EligibilityDecision } from '../../src/domain';

export async function loadProposal(em: EntityManager, proposalId: string): Promise<Proposal> {
  return em.findOneOrFail(Proposal, { id: proposalId });
}

/** The agent's proposal eligibility now, counting its open proposals other than `exceptProposalId`. */
export async function eligibilityOf(em: EntityManager, agentId: string, exceptProposalId: string): Promise<EligibilityDecision & { openProposals: number }> {
  const agent = await em.findOneOrFail(Agent, { id: agentId as Agent['id'] });
  const openProposals = await em.count(Proposal, { agentId, status: { $in: [...OPEN_PROPOSAL_STATES] }, id: { $ne: exceptProposalId } });
  const decision = proposalEligibility({
    status: agent.status,
    lastPassedAt: agent.lastPassedAt?.toISOString() ?? null,
    consecutiveFailures: agent.consecutiveFailures,
    openProposals,
    now: new Date().toISOString(),
  });
  return { ...decision, openProposals };
}
