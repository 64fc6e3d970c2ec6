import type { EntityManager } from '@mikro-orm/postgresql';
import { Proposal } from '../../src/db/entities';

export async function loadProposal(em: EntityManager, proposalId: string): Promise<Proposal> {
  return em.findOneOrFail(Proposal, { id: proposalId });
}
