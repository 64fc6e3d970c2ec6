import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../../src/config';
import { proposalWorkflowId, type ReviewInput } from '../../src/contracts';
import { reviewSigningKey, signReview } from '../../src/crypto/review-signature';
import { Proposal, type ProposalState } from '../../src/db/entities';

/** A review of proposal `proposalId` signed as the API signs it (with `config`'s key), issued now unless `issuedAt`. */
export function signedReview(
  config: Config,
  proposalId: string,
  review: { decision: 'approve' | 'reject'; reviewer: string; comment?: string | null; issuedAt?: string },
): ReviewInput {
  return signReview(reviewSigningKey(config).key, {
    ...review,
    workflowId: proposalWorkflowId(proposalId),
    issuedAt: review.issuedAt ?? new Date().toISOString(),
  });
}

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

/**
 * A fix for the example target's SQL injection that keeps its tests passing: names are checked against an allow-list
 * (`pattern`) before the SQL is built.
 */
export const exampleTargetFix = (pattern = '/^[A-Za-z0-9_.-]+$/') => `--- a/src/users.js
+++ b/src/users.js
@@ -9,6 +9,7 @@
  * @returns {string}
  */
 function findUserQuery(name) {
+  if (typeof name !== 'string' || !${pattern}.test(name)) throw new TypeError('invalid user name');
   return "SELECT id, name, email FROM users WHERE name = '" + name + "'";
 }
 
`;
