import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../../src/config';
import { proposalBranch } from '../../src/contracts';
import { checkPatch, commitPatchToBranch, git, headCommit, PatchError, withWorktree } from '../../src/target';
import { runTarget } from '../runs.activities';
import { agentEligibility } from '../../src/db/eligibility';
import { loadProposal } from './shared';

/**
 * Applies an approved proposal (ARCHITECTURE §3.6 step 7): eligibility re-checked, the patch checked against the
 * target's current head, then committed on `lvlup/proposal-<short-id>` (never on the checked-out branch). A refusal
 * is returned with its reason (→ `apply_failed`); the commit is recorded, so a retry does not commit twice.
 */
export async function applyProposal(deps: { orm: MikroORM; config: Config }, proposalId: string): Promise<{ ok: boolean; commit?: string; branch?: string; reason?: string }> {
  const em = deps.orm.em.fork() as EntityManager;
  const p = await loadProposal(em, proposalId);
  if (p.commit !== null && p.branch !== null) return { ok: true, commit: p.commit, branch: p.branch };
  const { target } = await runTarget(deps.orm, deps.config);
  const branch = proposalBranch(p.id);

  // A commit made by an attempt that crashed before recording it.
  const existing = (await git(target.path, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`]).catch(() => '')).trim();
  if (existing !== '') return record(em, p, existing, branch);

  const eligibility = await agentEligibility(em, p.agentId, p.id);
  if (!eligibility.eligible) return { ok: false, reason: `${p.agentId} is no longer eligible: ${eligibility.reasons.join('; ')}` };
  const head = await headCommit(target.path);
  const check = await withWorktree(target.path, (wt) => checkPatch(wt.dir, p.diff ?? ''), head);
  if (!check.applies) return { ok: false, reason: `the patch no longer applies to the current head ${head.slice(0, 12)}: ${check.error ?? 'unknown error'}` };
  try {
    const made = await commitPatchToBranch(target.path, {
      ref: head,
      diff: p.diff ?? '',
      branch,
      message: `${p.title ?? 'Lvl_UP proposal'}\n\n${p.rationale ?? ''}\n\nProposed by ${p.agentId}, approved by ${p.review?.reviewer ?? 'a reviewer'}. Lvl_UP proposal ${p.id}.`,
      author: { name: `Lvl_UP ${p.agentId}`, email: `${p.agentId}@lvlup.invalid` },
    });
    return record(em, p, made.commit, made.branch);
  } catch (err) {
    if (err instanceof PatchError && err.code !== 'branch_exists') return { ok: false, reason: err.message };
    throw err;
  }
}

async function record(em: EntityManager, p: Awaited<ReturnType<typeof loadProposal>>, commit: string, branch: string) {
  p.commit = commit;
  p.branch = branch;
  await em.flush();
  return { ok: true, commit, branch };
}
