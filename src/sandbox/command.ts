import os from 'node:os';
import path from 'node:path';
import type { SpawnResult } from './spawn';
import type { SandboxLimits } from './types';

const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * No network and no IPC/UTS/pid/cgroup sharing (`--unshare-all`), no capabilities even when run as root, fresh
 * /dev, /proc and /tmp on an empty root (mounts.ts adds what a run may see), a new session (no TIOCSTI into our
 * terminal), and death with us: when bwrap dies its child, pid 1 of the run's namespace, dies and takes every process
 * of the run with it.
 */
export const BWRAP_ISOLATION = [
  '--unshare-all',
  '--die-with-parent',
  '--new-session',
  '--cap-drop',
  'ALL',
  '--dev',
  '/dev',
  '--proc',
  '/proc',
  '--tmpfs',
  '/tmp',
];

/**
 * `sh` sets the limits (soft = hard, so the program cannot raise them) and then becomes the program: the command and
 * its arguments are positional parameters, never part of the script. RLIMIT_DATA, not RLIMIT_AS: V8 reserves
 * gigabytes of address space it never touches, so an address-space cap small enough to matter stops `node` booting.
 * `ulimit -f` counts 512-byte blocks (POSIX; dash, and bash as sh); the process count is `-u` in bash, `-p` in dash.
 * RLIMIT_NPROC only without a cgroup: it counts every task of the user on the machine (the worker's own threads, the
 * other runs), so next to a cgroup's per-run `pids.max` it would only make runs fail for each other.
 */
export function withLimits(
  limits: SandboxLimits,
  command: string,
  args: string[],
  opts: { processRlimit: boolean },
): [string, ...string[]] {
  const script = [
    'ulimit -c 0',
    `ulimit -t ${limits.cpuSeconds}`,
    `ulimit -d ${limits.memoryMb * 1024}`,
    `ulimit -f ${limits.maxFileMb * 2048}`,
    ...(opts.processRlimit
      ? [`{ ulimit -u ${limits.maxProcesses} 2>/dev/null || ulimit -p ${limits.maxProcesses}; }`]
      : []),
    'exec "$@"',
  ].join(' && ');
  return ['/bin/sh', '-c', script, 'lvlup-sandbox', command, ...args];
}

/**
 * Puts the process into the run's cgroup(s) before anything of the run starts, then becomes `argv`: every descendant,
 * detached or not, is born inside the cgroup. The cgroup files are positional parameters too.
 */
export function inCgroup(procsFiles: string[], argv: [string, ...string[]]): [string, ...string[]] {
  if (procsFiles.length === 0) return argv;
  const joins = procsFiles.map((_, i) => `echo $$ > "$${i + 1}"`);
  const script = [...joins, `shift ${procsFiles.length}`, 'exec "$@"'].join(' && ');
  return ['/bin/sh', '-c', script, 'lvlup-cgroup', ...procsFiles, ...argv];
}

/** PATH, HOME and LANG, then the request's own variables; the parent's environment holds secrets and never passes. */
export function cleanEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: `${path.dirname(process.execPath)}:${SYSTEM_PATH}`, HOME: home, LANG: 'C.UTF-8', ...extra };
}

/** bwrap reports a program killed by signal N as exit status 128 + N; report it as the process mode does. */
export function signalFromBwrapStatus(result: SpawnResult): SpawnResult {
  if (result.signal !== null || result.exitCode === null || result.exitCode <= 128) return result;
  const number = result.exitCode - 128;
  const name = Object.entries(os.constants.signals).find(([, n]) => n === number)?.[0];
  return name === undefined ? result : { ...result, exitCode: null, signal: name };
}
