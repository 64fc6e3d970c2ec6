import { realpath } from 'node:fs/promises';
import path from 'node:path';

/** A path outside the target repository (or worktree) was asked for. */
export class PathEscapeError extends Error {
  constructor(readonly requested: string) {
    super(`path "${requested}" is outside the repository`);
    this.name = 'PathEscapeError';
  }
}

/**
 * Resolves `relative` inside `root`, refusing absolute paths, `..` escapes and symlinks that lead outside (checked on
 * the real path of the deepest existing ancestor, so a file that does not exist yet is judged by its directory).
 */
export async function resolveInside(root: string, relative: string): Promise<string> {
  if (relative.includes('\0') || path.isAbsolute(relative)) throw new PathEscapeError(relative);
  const realRoot = await realpath(root);
  const candidate = path.resolve(realRoot, relative);
  if (!isWithin(realRoot, candidate)) throw new PathEscapeError(relative);
  let existing = candidate;
  for (;;) {
    try {
      const real = await realpath(existing);
      if (!isWithin(realRoot, real)) throw new PathEscapeError(relative);
      return candidate;
    } catch (err) {
      if (err instanceof PathEscapeError) throw err;
      const parent = path.dirname(existing);
      if (parent === existing) throw new PathEscapeError(relative);
      existing = parent;
    }
  }
}

function isWithin(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
