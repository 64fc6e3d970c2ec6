import { git } from './git';
import { commitPatch, PatchError, type CommitPatchOptions } from './patches';

/** Everything that decides a proposal's commit except its parent. */
export type ChangeSpec = Omit<CommitPatchOptions, 'branch' | 'ref'>;

export type ExistingVerdict = { same: true; how: 'same_commit' | 'same_tree' } | { same: false; reason: string };

/**
 * Whether `existing` (what a proposal's branch already points at, e.g. pushed by another worker or by an attempt that
 * crashed before recording it) is this change: the commit `spec` makes on `existing`'s parent has the same id, or at
 * least the same tree on that same parent. Commits are reproducible (commitPatch with a fixed date), so a worker whose
 * head has moved since still recognises the commit another worker made. Throws only on git or disk trouble.
 */
export async function matchExistingCommit(
  repoPath: string,
  branch: string,
  existing: string,
  spec: ChangeSpec,
): Promise<ExistingVerdict> {
  const short = existing.slice(0, 12);
  const [, ...parents] = (await git(repoPath, ['rev-list', '--parents', '-n', '1', existing])).trim().split(' ');
  const parent = parents[0];
  if (parent === undefined || parents.length !== 1) {
    return {
      same: false,
      reason: `branch ${branch} already exists at ${short}, which has ${parents.length} parents: not this proposal's commit`,
    };
  }
  let expected: string;
  try {
    expected = await commitPatch(repoPath, { ...spec, ref: parent });
  } catch (err) {
    if (!(err instanceof PatchError)) throw err;
    return {
      same: false,
      reason: `branch ${branch} already exists at ${short}, on ${parent.slice(0, 12)} where this proposal's patch does not apply: ${err.message}`,
    };
  }
  if (expected === existing) return { same: true, how: 'same_commit' };
  const [treeA, treeB] = await Promise.all(
    [expected, existing].map(async (c) => (await git(repoPath, ['rev-parse', `${c}^{tree}`])).trim()),
  );
  if (treeA === treeB) return { same: true, how: 'same_tree' };
  return {
    same: false,
    reason: `branch ${branch} already exists at ${short} with different content than this proposal's change on ${parent.slice(0, 12)}`,
  };
}
