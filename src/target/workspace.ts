import { lstat, symlink, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config';
import type { Sandbox, SandboxRunRequest, SandboxRunResult } from '../sandbox';
import { git } from './git';
import { QUIET_NPM_ENV } from './package-manager';
import { withWorktree, type Worktree } from './worktrees';
import { installDependencies, type DependencySetup, type SetupOutcome } from './workspace-setup';
import { cannotStart, outputTail, WORKSPACE_ERROR_TYPES, WorkspaceError } from './workspace-errors';

/** What a workspace needs from the worker: its sandbox, where the caches live, and the setup and run settings. */
export interface WorkspaceContext {
  sandbox: Sandbox;
  /** `DATA_DIR/workspaces`: installed trees under `deps/`, the package managers' downloads under `downloads/`. */
  root: string;
  setup: DependencySetup;
  /** The least recently used installed trees go past this size. */
  cacheCapBytes: number;
  /** Default wall clock of a run (SANDBOX_TIMEOUT_SECONDS). */
  runTimeoutMs: number;
}

export interface WorkspaceRunOptions {
  timeoutMs?: number;
  /** Run alone on this worker (benchmarks). */
  exclusive?: boolean;
  /** Added to the run's environment (a test runner's reporter settings); never a secret. */
  env?: Record<string, string>;
}

export interface Workspace extends Worktree {
  /** How the dependencies got there: shown on the run (`summary.setup`) and as its `setup` step. */
  setup: SetupOutcome;
  /** Runs a shell command in the workspace, offline, the installed tree read-only; throws TargetCommandUnavailable when it cannot start. */
  run(command: string, opts?: WorkspaceRunOptions): Promise<SandboxRunResult>;
  /** Like `run`, for a program and its arguments without a shell. */
  exec(program: string, args: string[], opts?: WorkspaceRunOptions): Promise<SandboxRunResult>;
}

export interface WorkspaceOptions {
  /** Commit or ref to check out; default HEAD. */
  ref?: string;
  /** Changes the checkout before the install (a proposal's patch, which may touch package.json or the lockfile). */
  prepare?: (wt: Worktree) => Promise<void>;
}

/**
 * npm's chatter off and the registry out of reach even in the process fallback: a run is offline. HOME is the worktree,
 * so npm would otherwise leave its debug logs in the checkout (and in a proposal's diff).
 */
const RUN_ENV: Record<string, string> = { ...QUIET_NPM_ENV, npm_config_offline: 'true', npm_config_logs_max: '0' };

/** The context from the configuration: the one way activities build it. */
export function workspaceContext(
  config: Pick<Config, 'dataDir' | 'workspace' | 'sandbox'>,
  sandbox: Sandbox,
): WorkspaceContext {
  const w = config.workspace;
  return {
    sandbox,
    root: path.join(config.dataDir, 'workspaces'),
    setup: {
      command: w.setupCmd,
      installScripts: w.installScripts,
      network: w.setupNetwork,
      registry: w.npmRegistry,
      timeoutMs: w.setupTimeoutSeconds * 1000,
    },
    cacheCapBytes: w.depsCacheMb * 1024 * 1024,
    runTimeoutMs: config.sandbox.timeoutSeconds * 1000,
  };
}

/**
 * Runs `fn` on a workspace: a temporary worktree of `repoPath` at `ref` plus its installed dependencies (ARCHITECTURE
 * §2 "Workspaces"). The install runs inside the sandbox from a directory holding only the manifest and the lockfile and
 * is cached by their hash; the worktree's `node_modules` links to the cached tree, which runs may only read. Always
 * removes the worktree and releases the cache entry. Throws WorkspaceError TargetSetupFailed when the install fails,
 * and TargetCommandUnavailable from `run`/`exec` when a command cannot start.
 */
export async function withWorkspace<T>(
  ctx: WorkspaceContext,
  repoPath: string,
  fn: (ws: Workspace) => Promise<T>,
  opts: WorkspaceOptions = {},
): Promise<T> {
  return withWorktree(
    repoPath,
    async (wt) => {
      if (opts.prepare !== undefined) await opts.prepare(wt);
      const { outcome, entry } = await installDependencies(ctx, wt.dir);
      const link = path.join(wt.dir, 'node_modules');
      try {
        if (entry !== undefined) await symlink(entry.nodeModules, link, 'dir');
        const request = (command: string, args: string[], o: WorkspaceRunOptions = {}): SandboxRunRequest => ({
          command,
          args,
          cwd: wt.dir,
          timeoutMs: o.timeoutMs ?? ctx.runTimeoutMs,
          exclusive: o.exclusive,
          network: false,
          readOnlyPaths: entry === undefined ? [] : [entry.dir],
          env: { ...o.env, ...RUN_ENV },
        });
        const checked = async (shown: string, req: SandboxRunRequest) =>
          assertStarted(shown, await ctx.sandbox.run(req));
        return await fn({
          ...wt,
          setup: outcome,
          diff: () => diffWithoutLink(wt),
          run: (command, o) => checked(command, request('/bin/sh', ['-c', command], o)),
          exec: (program, args, o) => checked([program, ...args].join(' '), request(program, args, o)),
        });
      } finally {
        if (entry !== undefined) {
          await unlinkIfSymlink(link);
          await entry.release();
        }
      }
    },
    opts.ref,
  );
}

/** The result of a command that started; throws WorkspaceError TargetCommandUnavailable (with the output tail) otherwise. */
function assertStarted(command: string, result: SandboxRunResult): SandboxRunResult {
  const why = cannotStart(result);
  if (why === undefined) return result;
  throw new WorkspaceError(
    WORKSPACE_ERROR_TYPES.commandUnavailable,
    `"${command}" cannot start: ${why}: ${outputTail(result, 600)}`,
  );
}

/** The worktree's diff without the `node_modules` link (a `node_modules/` ignore rule does not match a symlink). */
async function diffWithoutLink(wt: Worktree): Promise<string> {
  const pathspec = ['--', '.', ':(exclude)node_modules'];
  await git(wt.dir, ['add', '--intent-to-add', '--all', ...pathspec]);
  return git(wt.dir, ['diff', wt.baseCommit, ...pathspec]);
}

async function unlinkIfSymlink(file: string): Promise<void> {
  const info = await lstat(file).catch(() => undefined);
  if (info?.isSymbolicLink() === true) await unlink(file);
}
