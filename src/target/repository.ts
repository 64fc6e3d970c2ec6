import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config';
import { gitUrlName, redactGitUrl } from '../domain/git-url';
import { git } from './git';
import type { GitCredentials } from './git-credentials';
import { openMirror, type RemoteAccess } from './mirror';

/** The example target shipped with the project (ARCHITECTURE §2): next to src/ under ts-node and jest, next to dist/ once built. */
export const EXAMPLE_TARGET_DIR =
  [path.resolve(__dirname, '../../examples/target'), path.resolve(__dirname, '../../../examples/target')].find((dir) =>
    existsSync(dir),
  ) ?? path.resolve(__dirname, '../../examples/target');
export const EXAMPLE_BENCH_CMD = 'node bench/run.js';

export interface ResolvedTarget {
  /** A git repository to make worktrees from: the checkout, the example's copy, or a remote's bare mirror. */
  path: string;
  /** What the `repositories` row is keyed on: the local path, or the remote's credential-free URL. */
  key: string;
  name: string;
  /** True when this is the project's example, copied under DATA_DIR. */
  example: boolean;
  /** Set for TARGET_REPO_URL: the mirror and the way to push to the remote. */
  remote?: RemoteAccess;
  testCmd: string;
  benchCmd: string | undefined;
}

/** The part of the config the target is resolved from (tests pass just this). */
export interface TargetConfig {
  dataDir: string;
  target: Pick<Config['target'], 'repoPath' | 'testCmd' | 'benchCmd'> & Partial<Pick<Config['target'], 'remote'>>;
}

/** The `repositories` key and name of the configured target, without touching the disk or the network. */
export function targetIdentity(config: TargetConfig): { key: string; name: string } {
  const { remote, repoPath } = config.target;
  if (remote !== undefined) return { key: redactGitUrl(remote.url), name: gitUrlName(remote.url) };
  const dir = repoPath ?? path.join(config.dataDir, 'target');
  return { key: dir, name: path.basename(dir) };
}

/**
 * The target repository to work on: TARGET_REPO_URL (the worker's mirror, fetched first — see openMirror; the
 * credentials are for an https remote), TARGET_REPO_PATH (which must be a git repository; it is only ever read and
 * used through temporary worktrees), else a copy of `examples/target` made into a git repository under DATA_DIR on
 * first use, so the project's own tree is never modified. Throws with a clear message for a path that is not a
 * repository, RemoteTargetError for a missing branch, a plain Error when the remote cannot be reached.
 */
export async function resolveTargetRepository(
  config: TargetConfig,
  opts: { credentials?: GitCredentials | null } = {},
): Promise<ResolvedTarget> {
  const { target } = config;
  const { key, name } = targetIdentity(config);
  if (target.remote !== undefined) {
    const remote = await openMirror(config.dataDir, target.remote, opts.credentials ?? null);
    return { path: remote.dir, key, name, example: false, remote, testCmd: target.testCmd, benchCmd: target.benchCmd };
  }
  if (target.repoPath !== undefined) {
    if (!existsSync(target.repoPath)) throw new Error(`TARGET_REPO_PATH ${target.repoPath} does not exist`);
    const top = await git(target.repoPath, ['rev-parse', '--show-toplevel']).catch(() => '');
    if (path.resolve(top.trim()) !== path.resolve(target.repoPath)) {
      throw new Error(
        `TARGET_REPO_PATH ${target.repoPath} must be the top directory of a git repository (run git init and commit first)`,
      );
    }
    return { path: target.repoPath, key, name, example: false, testCmd: target.testCmd, benchCmd: target.benchCmd };
  }
  const dir = path.join(config.dataDir, 'target');
  if (!existsSync(path.join(dir, '.git'))) await copyExampleOnce(dir);
  return {
    path: dir,
    key,
    name,
    example: true,
    testCmd: target.testCmd,
    benchCmd: target.benchCmd ?? EXAMPLE_BENCH_CMD,
  };
}

/** Copies in progress in this process, per directory: parallel first runs (a cycle's children) share one copy. */
const copying = new Map<string, Promise<void>>();

function copyExampleOnce(dir: string): Promise<void> {
  let pending = copying.get(dir);
  if (pending === undefined) {
    pending = copyExample(dir).finally(() => copying.delete(dir));
    copying.set(dir, pending);
  }
  return pending;
}

/**
 * Copies the example into a staging directory of its own, commits it, then renames it into place: a crash leaves no
 * half repository, and a concurrent copy (another process on the same DATA_DIR) never mixes with this one — whichever
 * rename lands first wins and the other's staging copy is discarded.
 */
async function copyExample(dir: string): Promise<void> {
  await mkdir(path.dirname(dir), { recursive: true });
  const staging = await mkdtemp(`${dir}.staging-`);
  try {
    await cp(EXAMPLE_TARGET_DIR, staging, {
      recursive: true,
      filter: (src) => !src.includes(`${path.sep}node_modules`),
    });
    await git(staging, ['init', '-q', '-b', 'main']);
    await git(staging, ['add', '-A']);
    await git(staging, [
      '-c',
      'user.name=Lvl_UP',
      '-c',
      'user.email=lvlup@localhost',
      'commit',
      '-q',
      '-m',
      'Example target (copied from examples/target)',
    ]);
    if (existsSync(path.join(dir, '.git'))) return;
    // A directory without .git is no repository of ours (an interrupted copy before renames were atomic): replaced.
    await rm(dir, { recursive: true, force: true });
    try {
      await rename(staging, dir);
    } catch (err) {
      if (!existsSync(path.join(dir, '.git'))) throw err;
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
