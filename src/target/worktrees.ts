import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { git } from './git';
import { resolveInside } from './paths';

export interface Worktree {
  /** Absolute path of the temporary checkout. */
  dir: string;
  /** The commit it was created at. */
  baseCommit: string;
  /** Reads a file of the checkout (refusing paths that leave it). */
  read(relative: string): Promise<string>;
  /** The diff of the checkout against its base commit, new files included. */
  diff(): Promise<string>;
}

/**
 * Runs `fn` on a temporary detached `git worktree` of `repoPath` at `ref` (default HEAD) and always removes it:
 * nothing ever writes to the target's checked-out branch (ARCHITECTURE §2).
 */
export async function withWorktree<T>(repoPath: string, fn: (wt: Worktree) => Promise<T>, ref = 'HEAD'): Promise<T> {
  const baseCommit = (await git(repoPath, ['rev-parse', '--verify', `${ref}^{commit}`])).trim();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lvlup-worktree-'));
  await git(repoPath, ['worktree', 'add', '--detach', '--force', dir, baseCommit]);
  try {
    return await fn({
      dir,
      baseCommit,
      read: async (relative) => readFile(await resolveInside(dir, relative), 'utf8'),
      diff: async () => {
        await git(dir, ['add', '--intent-to-add', '--all']);
        return git(dir, ['diff', baseCommit]);
      },
    });
  } finally {
    await git(repoPath, ['worktree', 'remove', '--force', dir]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    await git(repoPath, ['worktree', 'prune']).catch(() => undefined);
  }
}
