import { randomBytes } from 'node:crypto';
import { realpath, stat } from 'node:fs/promises';
import type { Logger } from '../logger';
import { createRunCgroup, ownerTag, sweepStaleCgroups, type RunCgroup } from './cgroup';
import { detectCgroups, type CgroupBase } from './cgroup-detect';
import { BWRAP_ISOLATION, cleanEnv, inCgroup, signalFromBwrapStatus, withLimits } from './command';
import { createRunGate } from './gate';
import { describeSandbox } from './info';
import { killMarkedProcesses, RUN_MARKER_VARIABLE } from './marker-kill';
import { defaultHiddenPaths, runMounts, systemView, type SystemView } from './mounts';
import { spawnLimited } from './spawn';
import {
  SANDBOX_ERROR_TYPES,
  SandboxError,
  type Sandbox,
  type SandboxIsolation,
  type SandboxLimits,
  type SandboxRunRequest,
  type SandboxRunResult,
} from './types';

/** The defaults of SANDBOX_MEMORY_MB, SANDBOX_CPU_SECONDS, SANDBOX_MAX_PROCESSES and SANDBOX_MAX_FILE_MB. */
export const DEFAULT_SANDBOX_LIMITS: Readonly<SandboxLimits> = Object.freeze({
  memoryMb: 1024,
  cpuSeconds: 60,
  maxProcesses: 256,
  maxFileMb: 1024,
});

const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024;
const PROBE_TIMEOUT_MS = 10_000;

export interface CreateSandboxOptions {
  /** Refuse (throw SandboxUnavailable) instead of falling back to a plain child process. */
  requireIsolation: boolean;
  logger: Logger;
  /** Default `bwrap` on the system PATH. */
  bwrapPath?: string;
  /** Limits for requests that set none; default DEFAULT_SANDBOX_LIMITS. */
  limits?: Partial<SandboxLimits>;
  /**
   * Directories runs must never see even when they lie inside something bound (DATA_DIR, the product's own
   * directory); the worker's HOME, /root and /home are always hidden. Only bwrap can hide anything.
   */
  hiddenPaths?: string[];
  /** Default true: a per-run cgroup where the worker can create one. False forces the rlimit-only fallback. */
  cgroups?: boolean;
}

interface Context {
  isolation: SandboxIsolation;
  bwrapPath: string;
  view: SystemView;
  limits: SandboxLimits;
  hidden: string[];
  cgroup: { base: CgroupBase; tag: string } | undefined;
}

/**
 * Builds the one runner of untrusted code. It probes bubblewrap once: when bwrap can create its namespaces here every
 * run is isolated; otherwise it warns once and runs plain child processes with the same limits, or, with
 * `requireIsolation`, throws a SandboxError of type SandboxUnavailable. It then looks for a cgroup hierarchy to give
 * each run its own cgroup (and removes those that dead workers left), and says in `info` what the mode lacks.
 */
export async function createSandbox(opts: CreateSandboxOptions): Promise<Sandbox> {
  const bwrapPath = opts.bwrapPath ?? 'bwrap';
  // A limit given as undefined keeps its default.
  const given = Object.fromEntries(Object.entries(opts.limits ?? {}).filter(([, v]) => v !== undefined));
  const limits: SandboxLimits = { ...DEFAULT_SANDBOX_LIMITS, ...given };
  for (const [name, value] of Object.entries(limits)) checkLimit(name, value);
  const view = await systemView();
  const problem = await probeBwrap(bwrapPath, view);
  if (problem !== undefined && opts.requireIsolation) {
    throw new SandboxError(
      SANDBOX_ERROR_TYPES.unavailable,
      `bubblewrap cannot isolate commands on this machine (${problem}); install it (apt-get install bubblewrap) and ` +
        'allow user namespaces, or set SANDBOX_REQUIRE_ISOLATION=false to accept unisolated runs',
    );
  }
  const isolation: SandboxIsolation = problem === undefined ? 'bwrap' : 'process';
  const cgroup = opts.cgroups === false ? { reason: 'disabled' } : await findCgroups(opts.logger);
  const info = describeSandbox({
    isolation,
    limits,
    cgroup: cgroup.base?.base.mode ?? 'none',
    cgroupReason: cgroup.reason,
    uid: process.getuid?.() ?? -1,
  });
  if (problem !== undefined) {
    opts.logger.warn(
      `SANDBOX NOT ISOLATED: bubblewrap is unusable (${problem}). Untrusted code will run as a plain child process ` +
        'with only a timeout and resource limits: it can use the network and read and write anywhere this user can. ' +
        'Install bubblewrap (apt-get install bubblewrap) or set SANDBOX_REQUIRE_ISOLATION=true to refuse instead.',
      { bwrapPath, warnings: info.warnings },
    );
  } else if (info.warnings.length > 0) {
    opts.logger.warn(`sandbox limits are weaker than intended: ${info.warnings.join('; ')}`);
  }
  const ctx: Context = {
    isolation,
    bwrapPath,
    view,
    limits,
    hidden: [...defaultHiddenPaths(), ...(opts.hiddenPaths ?? [])],
    cgroup: cgroup.base,
  };
  const gate = createRunGate();
  return {
    isolation,
    info,
    run: async (req) => {
      req.signal?.throwIfAborted();
      const result = await gate.run(req.exclusive === true, () => {
        // Cancelled while waiting for the gate: nothing was started.
        req.signal?.throwIfAborted();
        return runOnce(ctx, req);
      });
      // Killed by its signal: the caller was cancelled and must not take the truncated run for an answer.
      req.signal?.throwIfAborted();
      opts.logger.debug('sandbox run finished', {
        command: req.command,
        cwd: req.cwd,
        isolation,
        exitCode: result.exitCode,
        signal: result.signal,
        timedOut: result.timedOut,
        durationMs: result.durationMs,
      });
      return result;
    },
  };
}

async function findCgroups(logger: Logger): Promise<{ base?: { base: CgroupBase; tag: string }; reason?: string }> {
  const tag = await ownerTag();
  const found = await detectCgroups(tag);
  if (found.base === undefined) return { reason: found.reason };
  const swept = await sweepStaleCgroups(found.base);
  if (swept.length > 0) logger.info('removed the cgroups of dead sandbox runs', { swept });
  return { base: { base: found.base, tag } };
}

/** Runs `true` with the real isolation flags and mounts; returns why that failed, or undefined when bwrap works. */
async function probeBwrap(bwrapPath: string, view: SystemView): Promise<string | undefined> {
  try {
    const probe = await spawnLimited(
      bwrapPath,
      [...BWRAP_ISOLATION, ...view.args, ...dataBinds(view), '--remount-ro', '/', '--', 'true'],
      {
        cwd: '/',
        env: cleanEnv('/'),
        timeoutMs: PROBE_TIMEOUT_MS,
        maxOutputBytes: 4096,
        inputs: view.files.map((f) => f.content),
      },
    );
    if (probe.exitCode === 0) return undefined;
    if (probe.timedOut) return `the probe timed out after ${PROBE_TIMEOUT_MS} ms`;
    return probe.stderr.trim() || `the probe exited with ${probe.exitCode ?? probe.signal}`;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The synthetic /etc files, read by bwrap from file descriptors 3, 4, … */
function dataBinds(view: SystemView): string[] {
  return view.files.flatMap((file, i) => ['--ro-bind-data', String(i + 3), file.path]);
}

async function runOnce(ctx: Context, req: SandboxRunRequest): Promise<SandboxRunResult> {
  const paths = await checkRequest(req);
  const limits: SandboxLimits = {
    ...ctx.limits,
    memoryMb: req.memoryMb ?? ctx.limits.memoryMb,
    cpuSeconds: req.cpuSeconds ?? ctx.limits.cpuSeconds,
  };
  const tree = await runTree(ctx, limits);
  try {
    const program = withLimits(limits, req.command, req.args, { processRlimit: ctx.cgroup === undefined });
    const options = {
      cwd: paths.cwd,
      env: cleanEnv(paths.cwd, { ...req.env, ...tree.env }),
      timeoutMs: req.timeoutMs,
      stdin: req.stdin,
      maxOutputBytes: req.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
      onKill: () => void tree.kill(),
      signal: req.signal,
    };
    if (ctx.isolation === 'process') {
      const [file, ...args] = inCgroup(tree.procsFiles, program);
      return { ...(await spawnLimited(file, args, options)), isolation: ctx.isolation };
    }
    const hidden = await existingRealPaths(ctx.hidden);
    const bwrapArgs = [
      ...BWRAP_ISOLATION,
      ...(req.network === true ? ['--share-net'] : []),
      ...runMounts(ctx.view, { ...paths, hidden }),
      ...dataBinds(ctx.view),
      // Last: the root tmpfs, on which bwrap created every mount point above, becomes read-only.
      '--remount-ro',
      '/',
      '--chdir',
      paths.cwd,
      '--',
      ...program,
    ];
    const [file, ...args] = inCgroup(tree.procsFiles, [ctx.bwrapPath, ...bwrapArgs]);
    const result = await spawnLimited(file, args, { ...options, inputs: ctx.view.files.map((f) => f.content) });
    return { ...signalFromBwrapStatus(result), isolation: ctx.isolation };
  } finally {
    await tree.remove();
  }
}

/**
 * What holds a run's whole process tree: its cgroup; else, under bwrap, its pid namespace (nothing to do here); else,
 * in process mode, a marker variable every descendant inherits.
 */
async function runTree(
  ctx: Context,
  limits: SandboxLimits,
): Promise<Pick<RunCgroup, 'procsFiles' | 'kill' | 'remove'> & { env: Record<string, string> }> {
  if (ctx.cgroup !== undefined) return { ...(await createRunCgroup(ctx.cgroup.base, ctx.cgroup.tag, limits)), env: {} };
  if (ctx.isolation === 'bwrap')
    return { procsFiles: [], env: {}, kill: async () => undefined, remove: async () => undefined };
  const runId = randomBytes(12).toString('hex');
  const kill = async () => void (await killMarkedProcesses(runId));
  return { procsFiles: [], env: { [RUN_MARKER_VARIABLE]: runId }, kill, remove: kill };
}

/** Returns the real paths of the work directory and the extra paths; throws SandboxInvalidRequest for anything unusable. */
async function checkRequest(req: SandboxRunRequest): Promise<{ cwd: string; readOnly: string[]; writable: string[] }> {
  const invalid = (message: string) => new SandboxError(SANDBOX_ERROR_TYPES.invalidRequest, message);
  if (req.command === '') throw invalid('command must not be empty');
  if (!Number.isFinite(req.timeoutMs) || req.timeoutMs <= 0)
    throw invalid(`timeoutMs must be positive (got ${req.timeoutMs})`);
  if (req.memoryMb !== undefined) checkLimit('memoryMb', req.memoryMb);
  if (req.cpuSeconds !== undefined) checkLimit('cpuSeconds', req.cpuSeconds);
  if (req.maxOutputBytes !== undefined) checkLimit('maxOutputBytes', req.maxOutputBytes);
  const existing = async (name: string, p: string) => {
    if (!p.startsWith('/')) throw invalid(`${name} must be an absolute path (got "${p}")`);
    const info = await stat(p).catch(() => undefined);
    if (info === undefined || !info.isDirectory()) throw invalid(`${name} must be an existing directory (got "${p}")`);
    const real = await realpath(p);
    if (real === '/') throw invalid(`${name} must not be the root directory`);
    return real;
  };
  return {
    cwd: await existing('cwd', req.cwd),
    readOnly: await Promise.all((req.readOnlyPaths ?? []).map((p) => existing('readOnlyPaths', p))),
    writable: await Promise.all((req.writablePaths ?? []).map((p) => existing('writablePaths', p))),
  };
}

/** Real paths of those that exist (a directory that does not exist yet holds nothing to hide). */
async function existingRealPaths(paths: string[]): Promise<string[]> {
  const found = await Promise.all(paths.map((p) => realpath(p).catch(() => undefined)));
  return [...new Set(found.filter((p): p is string => p !== undefined))];
}

function checkLimit(name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new SandboxError(SANDBOX_ERROR_TYPES.invalidRequest, `${name} must be a positive integer (got ${value})`);
  }
}
