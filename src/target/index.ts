export { git } from './git';
export { PathEscapeError, resolveInside } from './paths';
export { withWorktree, type Worktree } from './worktrees';
export { EXAMPLE_BENCH_CMD, EXAMPLE_TARGET_DIR, resolveTargetRepository, targetIdentity, type ResolvedTarget, type TargetConfig } from './repository';
export { mirrorDir, openMirror, RemoteTargetError, type RemoteAccess, type RemoteSpec } from './mirror';
export { authorizationHeader, remoteGitEnv, scrubCredentials, type GitCredentials } from './git-credentials';
export { applyPatch, checkPatch, commitPatch, commitPatchToBranch, diffHash, headCommit, PatchError, type CommitPatchOptions, type PatchErrorCode } from './patches';
