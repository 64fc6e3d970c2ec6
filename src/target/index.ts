export { git } from './git';
export { PathEscapeError, resolveInside } from './paths';
export { withWorktree, type Worktree } from './worktrees';
