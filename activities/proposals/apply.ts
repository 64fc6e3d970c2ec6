import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../../src/config';
import { proposalBranch } from '../../src/contracts';
import type { Proposal } from '../../src/db/entities';
import {
  checkPatch,
  commitPatch,
  commitPatchToBranch,
  git,
  headCommit,
  PatchError,
  withWorktree,
} from '../../src/target';
import { matchExistingCommit, type ChangeSpec } from '../../src/target/proposal-commit';
import { runTarget } from '../runs.activities';
import { agentEligibility } from '../../src/db/eligibility';
import { loadProposal } from './shared';

type ApplyResult = { ok: boolean; commit?: string; branch?: string; reason?: string };

/**
 * Applies an approved proposal (ARCHITECTURE §3.6 step 7): eligibility re-checked, the patch checked against the
 * target's current head, then committed on `lvlup/proposal-<short-id>` (never on the checked-out branch) — for a
 * remote target pushed there, with a lease that expects the branch absent. The commit is reproducible from the
 * proposal, so a branch found already made (by another worker, or by an attempt that crashed before recording it) is
 * adopted only when it is this change; anything else is returned as a refusal with its reason (→ `apply_failed`).
 * Throws plain Errors for git, network and database trouble (retried).
 */
export async function applyProposal(deps: { orm: MikroORM; config: Config }, proposalId: string): Promise<ApplyResult> {
  const em = deps.orm.em.fork() as EntityManager;
  const p = await loadProposal(em, proposalId);
  if (p.commit !== null && p.branch !== null) return { ok: true, commit: p.commit, branch: p.branch };
  const { target } = await runTarget(deps.orm, deps.config);
  const { remote, path: repo } = target;
  const branch = proposalBranch(p.id);
  const spec = changeSpec(p);
  // runTarget may have skipped a recent fetch; whether the branch exists must be read from the remote as it is now.
  if (remote !== undefined) await remote.fetch();

  const existing = await branchCommit(repo, branch);
  if (existing !== null) return adopt(em, p, repo, branch, existing, spec);

  const eligibility = await agentEligibility(em, p.agentId, deps.config.rules, p.id);
  if (!eligibility.eligible)
    return { ok: false, reason: `${p.agentId} is no longer eligible: ${eligibility.reasons.join('; ')}` };
  const head = await headCommit(repo);
  const check = await withWorktree(repo, (wt) => checkPatch(wt.dir, p.diff ?? ''), head);
  if (!check.applies)
    return {
      ok: false,
      reason: `the patch no longer applies to the current head ${head.slice(0, 12)}: ${check.error ?? 'unknown error'}`,
    };
  try {
    if (remote === undefined) {
      const made = await commitPatchToBranch(repo, { ...spec, ref: head, branch });
      return record(em, p, made.commit, branch);
    }
    const commit = await commitPatch(repo, { ...spec, ref: head });
    if ((await remote.pushNewBranch(branch, commit)) !== 'rejected') return record(em, p, commit, branch);
    // Another worker created the branch between our fetch and our push: it holds this change or something else.
    await remote.fetch();
    const theirs = await branchCommit(repo, branch);
    if (theirs === null)
      throw new Error(`the push of ${branch} to ${remote.url} was rejected, yet the remote has no such branch`);
    return adopt(em, p, repo, branch, theirs, spec);
  } catch (err) {
    if (err instanceof PatchError && err.code !== 'branch_exists') return { ok: false, reason: err.message };
    throw err;
  }
}

/** The proposal's commit inputs, all stored, so every attempt on every worker makes the same commit. */
function changeSpec(p: Proposal): ChangeSpec {
  const reviewedAt = p.review === null ? Number.NaN : Date.parse(p.review.at);
  return {
    diff: p.diff ?? '',
    message: `${p.title ?? 'Lvl_UP proposal'}\n\n${p.rationale ?? ''}\n\nProposed by ${p.agentId}, approved by ${p.review?.reviewer ?? 'a reviewer'}. Lvl_UP proposal ${p.id}.`,
    author: { name: `Lvl_UP ${p.agentId}`, email: `${p.agentId}@lvlup.invalid` },
    date: Number.isNaN(reviewedAt) ? p.createdAt : new Date(reviewedAt),
  };
}

async function branchCommit(repo: string, branch: string): Promise<string | null> {
  const out = (
    await git(repo, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`]).catch(() => '')
  ).trim();
  return out === '' ? null : out;
}

async function adopt(
  em: EntityManager,
  p: Proposal,
  repo: string,
  branch: string,
  commit: string,
  spec: ChangeSpec,
): Promise<ApplyResult> {
  const verdict = await matchExistingCommit(repo, branch, commit, spec);
  if (!verdict.same) return { ok: false, reason: verdict.reason };
  return record(em, p, commit, branch);
}

async function record(em: EntityManager, p: Proposal, commit: string, branch: string): Promise<ApplyResult> {
  p.commit = commit;
  p.branch = branch;
  await em.flush();
  return { ok: true, commit, branch };
}
