import { existsSync } from 'node:fs';
import { cp, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config';
import { git } from './git';

/** The example target shipped with the project (ARCHITECTURE §2): next to src/ under ts-node and jest, next to dist/ once built. */
export const EXAMPLE_TARGET_DIR =
  [path.resolve(__dirname, '../../examples/target'), path.resolve(__dirname, '../../../examples/target')].find((dir) => existsSync(dir)) ??
  path.resolve(__dirname, '../../examples/target');
export const EXAMPLE_BENCH_CMD = 'node bench/run.js';

export interface ResolvedTarget {
  path: string;
  /** True when this is the project's example, copied under DATA_DIR. */
  example: boolean;
  testCmd: string;
  benchCmd: string | undefined;
}

/**
 * The target repository to work on: TARGET_REPO_PATH (which must be a git repository; it is only ever read and used
 * through temporary worktrees), else a copy of `examples/target` made into a git repository under DATA_DIR on first
 * use, so the project's own tree is never modified. Throws with a clear message for a path that is not a repository.
 */
export async function resolveTargetRepository(config: Pick<Config, 'target' | 'dataDir'>): Promise<ResolvedTarget> {
  const { target } = config;
  if (target.repoPath !== undefined) {
    if (!existsSync(target.repoPath)) throw new Error(`TARGET_REPO_PATH ${target.repoPath} does not exist`);
    const top = await git(target.repoPath, ['rev-parse', '--show-toplevel']).catch(() => '');
    if (path.resolve(top.trim()) !== path.resolve(target.repoPath)) {
      throw new Error(`TARGET_REPO_PATH ${target.repoPath} must be the top directory of a git repository (run git init and commit first)`);
    }
    return { path: target.repoPath, example: false, testCmd: target.testCmd, benchCmd: target.benchCmd };
  }
  const dir = path.join(config.dataDir, 'target');
  if (!existsSync(path.join(dir, '.git'))) await copyExample(dir);
  return { path: dir, example: true, testCmd: target.testCmd, benchCmd: target.benchCmd ?? EXAMPLE_BENCH_CMD };
}

/** Copies the example into a staging directory, commits it, then renames it into place (a crash leaves no half repo). */
async function copyExample(dir: string): Promise<void> {
  const staging = `${dir}.staging-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(path.dirname(dir), { recursive: true });
  await cp(EXAMPLE_TARGET_DIR, staging, { recursive: true, filter: (src) => !src.includes(`${path.sep}node_modules`) });
  await git(staging, ['init', '-q', '-b', 'main']);
  await git(staging, ['add', '-A']);
  await git(staging, ['-c', 'user.name=Lvl_UP', '-c', 'user.email=lvlup@localhost', 'commit', '-q', '-m', 'Example target (copied from examples/target)']);
  await rm(dir, { recursive: true, force: true });
  await rename(staging, dir);
}
