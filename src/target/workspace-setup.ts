import { lstat, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SandboxRunResult } from '../sandbox';
import {
  acquireCached,
  createStaging,
  dependencyCacheKey,
  discardStaging,
  evictOverCap,
  publishStaging,
  runtimeTag,
  type CacheEntry,
} from './dependency-cache';
import { findOnSandboxPath, planSetup, type PackageManager, type SetupPlan } from './package-manager';
import type { WorkspaceContext } from './workspace';
import { outputTail, WORKSPACE_ERROR_TYPES, WorkspaceError } from './workspace-errors';

/** The TARGET_SETUP_* settings. */
export interface DependencySetup {
  /** TARGET_SETUP_CMD. */
  command?: string;
  installScripts: boolean;
  network: boolean;
  registry: string;
  timeoutMs: number;
}

/** How a workspace got its dependencies, as stored on the run (`summary.setup`). */
export interface SetupOutcome {
  manager: PackageManager | 'none';
  lockfile: string | null;
  cacheKey: string | null;
  cacheHit: boolean;
  durationMs: number;
  /** The install command (also when the cache answered), or null when nothing was to install. */
  command: string | null;
  /** Whether the install step had network access (TARGET_SETUP_NETWORK); runs never do. */
  network: boolean;
  /** Why nothing was installed, or what is weaker than a locked install. */
  note?: string;
}

/** npm's, pnpm's and yarn's own words for "the registry could not be reached": worth another attempt later. */
const TRANSIENT = /\b(?:ECONNRESET|ETIMEDOUT|EAI_AGAIN|ECONNREFUSED|ENOTFOUND|ENETUNREACH|socket hang up)\b/;
const NOT_CACHED =
  /ENOTCACHED|only-if-cached|offline mode|ERR_PNPM_NO_OFFLINE|couldn't find any versions .* offline|Couldn't find .* in the offline cache/i;

/**
 * Installs the dependencies of the checkout at `dir` into the cache (or finds them there) and returns the leased cache
 * entry with the outcome; no entry when there is nothing to install. Throws WorkspaceError TargetSetupFailed with the
 * command, exit code and output tail when the install fails (retryable only when the registry could not be reached).
 */
export async function installDependencies(
  ctx: Pick<WorkspaceContext, 'sandbox' | 'root' | 'setup' | 'cacheCapBytes'>,
  dir: string,
): Promise<{ outcome: SetupOutcome; entry?: CacheEntry }> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const none = (note: string) => ({
    outcome: {
      manager: 'none' as const,
      lockfile: null,
      cacheKey: null,
      cacheHit: false,
      durationMs: elapsed(),
      command: null,
      network: false,
      note,
    },
  });
  if (
    await lstat(path.join(dir, 'node_modules')).then(
      () => true,
      () => false,
    )
  )
    return none('the repository commits node_modules: used as it is');
  const { setup } = ctx;
  const decision = await planSetup(dir, {
    setupCmd: setup.command,
    installScripts: setup.installScripts,
    network: setup.network,
    registry: setup.registry,
    downloadCacheRoot: path.join(ctx.root, 'downloads'),
  });
  if (decision.kind === 'none') return none(decision.reason);
  const { plan } = decision;
  const base = {
    manager: plan.manager,
    lockfile: plan.lockfile,
    command: plan.command,
    network: setup.network,
    ...(plan.note !== undefined && { note: plan.note }),
  };
  if ((await findOnSandboxPath(plan.program)) === undefined) {
    throw new WorkspaceError(
      WORKSPACE_ERROR_TYPES.setupFailed,
      `${plan.lockfile ?? 'the repository'} calls for ${plan.program}, which is not installed on this worker (looked next to node and in the system directories): install it there (e.g. npm install -g ${plan.program}) or set TARGET_SETUP_CMD`,
    );
  }
  const cache = { root: path.join(ctx.root, 'deps'), capBytes: ctx.cacheCapBytes };
  // The offline flag is not part of the key: an offline install must find the tree an online one built.
  const key = dependencyCacheKey({
    manager: plan.manager,
    files: plan.files,
    installScripts: setup.installScripts,
    command: setup.command ?? '',
    runtime: runtimeTag(),
  });
  // A run that starts while this process already installs the same key waits for that install and shares its tree.
  const flight = path.join(cache.root, key);
  await installsInFlight.get(flight)?.catch(() => undefined);
  const hit = await acquireCached(cache, key);
  if (hit !== undefined)
    return { outcome: { ...base, cacheKey: key, cacheHit: true, durationMs: elapsed() }, entry: hit };

  const build = buildEntry(ctx, cache, key, plan);
  installsInFlight.set(flight, build);
  try {
    const entry = await build;
    return { outcome: { ...base, cacheKey: key, cacheHit: false, durationMs: elapsed() }, entry };
  } finally {
    if (installsInFlight.get(flight) === build) installsInFlight.delete(flight);
  }
}

/** Installs of this process in flight, by cache entry: concurrent runs of one lockfile install it once. */
const installsInFlight = new Map<string, Promise<CacheEntry>>();

/** Installs `plan` into a staging directory and publishes it as `key` (another process's tree wins a race). */
async function buildEntry(
  ctx: Pick<WorkspaceContext, 'sandbox' | 'setup'>,
  cache: { root: string; capBytes: number },
  key: string,
  plan: SetupPlan,
): Promise<CacheEntry> {
  const staging = await createStaging(cache, key);
  try {
    await installInto(ctx, plan, staging);
  } catch (err) {
    await discardStaging(staging);
    throw err;
  }
  const entry = await publishStaging(cache, key, staging);
  await evictOverCap(cache, key).catch(() => []);
  return entry;
}

/** The install itself, in the sandbox, in a directory holding only the manifest and lockfile (no `.npmrc` of the target's). */
async function installInto(
  ctx: Pick<WorkspaceContext, 'sandbox' | 'setup'>,
  plan: SetupPlan,
  staging: string,
): Promise<void> {
  for (const file of plan.files) await writeFile(path.join(staging, file.name), file.bytes);
  await mkdir(plan.downloadCache, { recursive: true });
  const result = await ctx.sandbox.run({
    command: plan.program,
    args: plan.args,
    cwd: staging,
    env: plan.env,
    network: ctx.setup.network,
    writablePaths: [plan.downloadCache],
    timeoutMs: ctx.setup.timeoutMs,
    cpuSeconds: Math.max(1, Math.ceil(ctx.setup.timeoutMs / 1000)),
  });
  if (result.timedOut || result.exitCode !== 0) throw installFailure(plan, result, ctx.setup.network);
  await mkdir(path.join(staging, 'node_modules'), { recursive: true });
  // HOME was the staging directory: drop the tools' logs and state, keep the tree and the files it was built from.
  const keep = new Set(['node_modules', ...plan.files.map((f) => f.name)]);
  for (const name of await readdir(staging))
    if (!keep.has(name)) await rm(path.join(staging, name), { recursive: true, force: true });
}

function installFailure(plan: SetupPlan, result: SandboxRunResult, network: boolean): WorkspaceError {
  const tail = outputTail(result);
  const type = WORKSPACE_ERROR_TYPES.setupFailed;
  if (result.timedOut)
    return new WorkspaceError(
      type,
      `${plan.command} timed out after ${result.durationMs} ms (TARGET_SETUP_TIMEOUT_SECONDS): ${tail}`,
    );
  const status = result.exitCode === null ? `signal ${result.signal ?? '?'}` : `exit ${result.exitCode}`;
  if (!network && NOT_CACHED.test(tail)) {
    return new WorkspaceError(
      type,
      `offline install (TARGET_SETUP_NETWORK=false) failed: the package cache at ${plan.downloadCache} lacks a package the lockfile needs; run one install with TARGET_SETUP_NETWORK=true to fill it (${plan.command}, ${status}): ${tail}`,
    );
  }
  const transient = network && TRANSIENT.test(tail);
  return new WorkspaceError(
    type,
    `${plan.command} failed (${status})${transient ? ' reaching the registry' : ''}: ${tail}`,
    { retryable: transient },
  );
}
