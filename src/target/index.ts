export { git } from './git';
export { PathEscapeError, resolveInside } from './paths';
export { withWorktree, type Worktree } from './worktrees';
export {
  EXAMPLE_BENCH_CMD,
  EXAMPLE_TARGET_DIR,
  resolveTargetRepository,
  targetIdentity,
  type ResolvedTarget,
  type TargetConfig,
} from './repository';
export { mirrorDir, openMirror, RemoteTargetError, type RemoteAccess, type RemoteSpec } from './mirror';
export { authorizationHeader, remoteGitEnv, scrubCredentials, type GitCredentials } from './git-credentials';
export {
  applyPatch,
  checkPatch,
  commitPatch,
  commitPatchToBranch,
  diffHash,
  headCommit,
  PatchError,
  type CommitPatchOptions,
  type PatchErrorCode,
} from './patches';
export {
  withWorkspace,
  workspaceContext,
  type Workspace,
  type WorkspaceContext,
  type WorkspaceOptions,
  type WorkspaceRunOptions,
} from './workspace';
export { type DependencySetup, type SetupOutcome } from './workspace-setup';
export {
  cannotStart,
  outputTail,
  WORKSPACE_ERROR_TYPES,
  WorkspaceError,
  type WorkspaceErrorType,
} from './workspace-errors';
export { planSetup, type PackageManager, type SetupDecision, type SetupPlan } from './package-manager';
export {
  acquireCached,
  dependencyCacheKey,
  evictOverCap,
  listEntries,
  type CacheEntry,
  type DependencyCache,
} from './dependency-cache';
