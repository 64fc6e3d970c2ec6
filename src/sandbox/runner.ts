import { realpath, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../logger';
import { spawnLimited, type SpawnResult } from './spawn';
import {
  SANDBOX_ERROR_TYPES,
  SandboxError,
  type Sandbox,
  type SandboxIsolation,
  type SandboxLimits,
  type SandboxRunRequest,
  type SandboxRunResult,
} from './types';

/** The defaults of SANDBOX_MEMORY_MB and SANDBOX_CPU_SECONDS, for callers that pass no limits. */
export const DEFAULT_SANDBOX_LIMITS: Readonly<SandboxLimits> = Object.freeze({ memoryMb: 1024, cpuSeconds: 60 });

const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024;
const PROBE_TIMEOUT_MS = 10_000;
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * No network and no IPC/UTS/pid sharing (`--unshare-all`), no capabilities even when run as root, a read-only view
 * of the host with fresh /dev, /proc and /tmp, a new session (no TIOCSTI into our terminal), and death with us.
 */
const BWRAP_ISOLATION = [
  '--unshare-all',
  '--die-with-parent',
  '--new-session',
  '--cap-drop', 'ALL',
  '--ro-bind', '/', '/',
  '--dev', '/dev',
  '--proc', '/proc',
  '--tmpfs', '/tmp',
];

export interface CreateSandboxOptions {
  /** Refuse (throw SandboxUnavailable) instead of falling back to a plain child process. */
  requireIsolation: boolean;
  logger: Logger;
  /** Default `bwrap` on the system PATH. */
  bwrapPath?: string;
  /** Limits for requests that set none; default DEFAULT_SANDBOX_LIMITS. */
  limits?: Partial<SandboxLimits>;
}

/**
 * Builds the one runner of untrusted code. It probes bubblewrap once: when bwrap can create its namespaces here every
 * run is isolated; otherwise it warns once and runs plain child processes with the same limits, or, with
 * `requireIsolation`, throws a SandboxError of type SandboxUnavailable.
 */
export async function createSandbox(opts: CreateSandboxOptions): Promise<Sandbox> {
  const bwrapPath = opts.bwrapPath ?? 'bwrap';
  const limits: SandboxLimits = { ...DEFAULT_SANDBOX_LIMITS, ...opts.limits };
  checkLimit('memoryMb', limits.memoryMb);
  checkLimit('cpuSeconds', limits.cpuSeconds);
  const problem = await probeBwrap(bwrapPath);
  if (problem !== undefined && opts.requireIsolation) {
    throw new SandboxError(
      SANDBOX_ERROR_TYPES.unavailable,
      `bubblewrap cannot isolate commands on this machine (${problem}); install it (apt-get install bubblewrap) and ` +
        'allow user namespaces, or unset SANDBOX_REQUIRE_ISOLATION to accept unisolated runs',
    );
  }
  if (problem !== undefined) {
    opts.logger.warn(
      `SANDBOX NOT ISOLATED: bubblewrap is unusable (${problem}). Untrusted code will run as a plain child process ` +
        'with only a timeout and memory/CPU limits: it can use the network and write anywhere this user can. ' +
        'Install bubblewrap (apt-get install bubblewrap) or set SANDBOX_REQUIRE_ISOLATION=true to refuse instead.',
      { bwrapPath },
    );
  }
  const isolation: SandboxIsolation = problem === undefined ? 'bwrap' : 'process';
  const gate = createRunGate();
  return {
    isolation,
    run: async (req) => {
      const result = await gate.run(req.exclusive === true, () => runOnce(isolation, bwrapPath, limits, req));
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

/** Runs `true` with the real isolation flags; returns why that failed, or undefined when bwrap works. */
async function probeBwrap(bwrapPath: string): Promise<string | undefined> {
  try {
    const probe = await spawnLimited(bwrapPath, [...BWRAP_ISOLATION, '--', 'true'], {
      cwd: '/',
      env: cleanEnv('/'),
      timeoutMs: PROBE_TIMEOUT_MS,
      maxOutputBytes: 4096,
    });
    if (probe.exitCode === 0) return undefined;
    if (probe.timedOut) return `the probe timed out after ${PROBE_TIMEOUT_MS} ms`;
    return probe.stderr.trim() || `the probe exited with ${probe.exitCode ?? probe.signal}`;
  } catch (err) {
    return (err as Error).message;
  }
}

async function runOnce(isolation: SandboxIsolation, bwrapPath: string, defaults: SandboxLimits, req: SandboxRunRequest): Promise<SandboxRunResult> {
  const dir = await checkRequest(req);
  const limits: SandboxLimits = { memoryMb: req.memoryMb ?? defaults.memoryMb, cpuSeconds: req.cpuSeconds ?? defaults.cpuSeconds };
  const limited = withLimits(limits, req.command, req.args);
  const options = { cwd: dir, env: cleanEnv(dir, req.env), timeoutMs: req.timeoutMs, stdin: req.stdin, maxOutputBytes: req.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES };
  if (isolation === 'process') {
    const [file, ...args] = limited;
    return { ...(await spawnLimited(file, args, options)), isolation };
  }
  const binds = [
    ...(req.network === true ? ['--share-net'] : []),
    ...(req.readOnlyPaths ?? []).flatMap((p) => ['--ro-bind', p, p]),
    ...(req.writablePaths ?? []).flatMap((p) => ['--bind', p, p]),
  ];
  const bwrapArgs = [...BWRAP_ISOLATION, ...binds, '--bind', dir, dir, '--chdir', dir, '--', ...limited];
  return { ...signalFromBwrapStatus(await spawnLimited(bwrapPath, bwrapArgs, options)), isolation };
}

/**
 * `sh` sets the limits (soft = hard, so the program cannot raise them) and then becomes the program: the command and
 * its arguments are positional parameters, never part of the script. RLIMIT_DATA, not RLIMIT_AS: V8 reserves
 * gigabytes of address space it never touches, so an address-space cap small enough to matter stops `node` booting.
 */
function withLimits(limits: SandboxLimits, command: string, args: string[]): [string, ...string[]] {
  const script = `ulimit -c 0 && ulimit -t ${limits.cpuSeconds} && ulimit -d ${limits.memoryMb * 1024} && exec "$@"`;
  return ['/bin/sh', '-c', script, 'lvlup-sandbox', command, ...args];
}

/** PATH, HOME and LANG, then the request's own variables; the parent's environment holds secrets and never passes. */
function cleanEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: `${path.dirname(process.execPath)}:${SYSTEM_PATH}`, HOME: home, LANG: 'C.UTF-8', ...extra };
}

/** bwrap reports a program killed by signal N as exit status 128 + N; report it as the process mode does. */
function signalFromBwrapStatus(result: SpawnResult): SpawnResult {
  if (result.signal !== null || result.exitCode === null || result.exitCode <= 128) return result;
  const number = result.exitCode - 128;
  const name = Object.entries(os.constants.signals).find(([, n]) => n === number)?.[0];
  return name === undefined ? result : { ...result, exitCode: null, signal: name };
}

/** Returns the real path of the work directory; throws SandboxInvalidRequest for anything unusable. */
async function checkRequest(req: SandboxRunRequest): Promise<string> {
  const invalid = (message: string) => new SandboxError(SANDBOX_ERROR_TYPES.invalidRequest, message);
  if (req.command === '') throw invalid('command must not be empty');
  if (!Number.isFinite(req.timeoutMs) || req.timeoutMs <= 0) throw invalid(`timeoutMs must be positive (got ${req.timeoutMs})`);
  if (req.memoryMb !== undefined) checkLimit('memoryMb', req.memoryMb);
  if (req.cpuSeconds !== undefined) checkLimit('cpuSeconds', req.cpuSeconds);
  if (req.maxOutputBytes !== undefined) checkLimit('maxOutputBytes', req.maxOutputBytes);
  if (!path.isAbsolute(req.cwd)) throw invalid(`cwd must be an absolute path (got "${req.cwd}")`);
  const info = await stat(req.cwd).catch(() => undefined);
  if (info === undefined || !info.isDirectory()) throw invalid(`cwd must be an existing directory (got "${req.cwd}")`);
  const dir = await realpath(req.cwd);
  if (dir === '/') throw invalid('cwd must not be the root directory: it is the one writable directory');
  return dir;
}

function checkLimit(name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new SandboxError(SANDBOX_ERROR_TYPES.invalidRequest, `${name} must be a positive integer (got ${value})`);
  }
}

/**
 * A readers-writer gate over runs: shared runs go concurrently, an exclusive run waits for those in flight and holds
 * back every run asked for after it (first come, first served, so an exclusive run is never starved).
 */
function createRunGate() {
  let active = 0;
  let exclusiveActive = false;
  const queue: Array<{ exclusive: boolean; start: () => void }> = [];
  const pump = () => {
    while (queue.length > 0 && !exclusiveActive) {
      const next = queue[0];
      if (next === undefined || (next.exclusive && active > 0)) return;
      queue.shift();
      active += 1;
      if (next.exclusive) exclusiveActive = true;
      next.start();
    }
  };
  return {
    async run<T>(exclusive: boolean, fn: () => Promise<T>): Promise<T> {
      await new Promise<void>((start) => {
        queue.push({ exclusive, start });
        pump();
      });
      try {
        return await fn();
      } finally {
        active -= 1;
        if (exclusive) exclusiveActive = false;
        pump();
      }
    },
  };
}
