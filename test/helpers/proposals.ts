import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { Proposal, type ProposalState } from '../../src/db/entities';

/** Polls the stored proposal until it reaches `status` (60 s at most); throws as soon as it ends in another state. */
export async function proposalReaching(orm: MikroORM, id: string, status: ProposalState): Promise<Proposal> {
  for (let i = 0; i < 600; i++) {
    const p = await (orm.em.fork() as EntityManager).findOne(Proposal, { id });
    if (p?.status === status) return p;
    if (p !== null && p.completedAt !== null) throw new Error(`proposal ended ${p.status}: ${p.error}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`proposal ${id} never reached ${status}`);
}
