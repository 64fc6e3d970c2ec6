export { git } from './git';
export { PathEscapeError, resolveInside } from './paths';
export { withWorktree, type Worktree } from './worktrees';
export { EXAMPLE_BENCH_CMD, EXAMPLE_TARGET_DIR, resolveTargetRepository, type ResolvedTarget } from './repository';
export { applyPatch, checkPatch, commitPatchToBranch, diffHash, headCommit, PatchError, type CommitPatchOptions, type PatchErrorCode } from './patches';
