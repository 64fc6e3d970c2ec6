import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { ProposalInput } from '../contracts';
import { OPEN_PROPOSAL_STATES, Proposal, ProposalEvent, TERMINAL_PROPOSAL_STATES } from './entities';

/** Why a proposal request could not be stored: its finding already has a live proposal (named when still live). */
export type ProposalRefusal = { refused: 'FindingHasLiveProposal'; message: string; live: Proposal | null };

/**
 * Stores a requested proposal (`drafting`, keyed on its id and workflow id) before its workflow starts, so the 202's
 * URL never 404s and a refusal or failure in the pipeline's begin step is recorded on this row. The unique "one live
 * proposal per finding" index is the gate: a concurrent request for the same finding is refused here, naming the
 * proposal that is live. The repository is filled in by the begin step (it may need the worker's target mirror).
 */
export async function storeProposalRequest(
  em: EntityManager,
  input: ProposalInput & { workflowId: string },
): Promise<Proposal | ProposalRefusal> {
  const proposal = new Proposal({
    id: input.proposalId,
    workflowId: input.workflowId,
    agentId: input.agentId,
    findingId: input.findingId ?? null,
    goal: input.goal ?? null,
    trigger: input.trigger,
    requestedBy: input.requestedBy ?? null,
  });
  try {
    await em.persistAndFlush(proposal);
  } catch (err) {
    if (!isLiveProposalConflict(err)) throw err;
    return liveProposalRefusal(em.fork(), input.findingId ?? null);
  }
  return proposal;
}

/** Whether a write was refused by the unique "one live proposal per finding" index. */
export function isLiveProposalConflict(err: unknown): boolean {
  return err instanceof UniqueConstraintViolationException && /one_live_per_finding/.test(err.message);
}

/** The refusal of a second live proposal for `findingId`, naming the live one (when it is still live). */
export async function liveProposalRefusal(em: EntityManager, findingId: string | null): Promise<ProposalRefusal> {
  const live = await em.findOne(Proposal, { findingId, status: { $in: [...OPEN_PROPOSAL_STATES] } });
  return {
    refused: 'FindingHasLiveProposal',
    message: `finding ${findingId} already has proposal ${live?.id ?? '(another)'}${live ? ` (${live.status})` : ''}`,
    live,
  };
}

/**
 * Ends a proposal whose workflow closed (or never started) without ending it: the row locked, its next timeline event
 * appended. Keyed on the state: a proposal already terminal is left as it is (false).
 */
export async function endClosedProposal(
  orm: MikroORM,
  proposalId: string,
  state: 'cancelled' | 'failed',
  detail: string,
): Promise<boolean> {
  return (orm.em.fork() as EntityManager).transactional(async (tx) => {
    const proposal = await tx.findOneOrFail(Proposal, { id: proposalId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (TERMINAL_PROPOSAL_STATES.includes(proposal.status)) return false;
    const last = await tx.findOne(ProposalEvent, { proposalId }, { orderBy: { seq: 'desc' } });
    tx.persist(
      new ProposalEvent({ proposalId, seq: (last?.seq ?? 0) + 1, state, detail: detail.slice(0, 4000), data: {} }),
    );
    Object.assign(proposal, { status: state, completedAt: new Date(), error: detail.slice(0, 4000) });
    return true;
  });
}
