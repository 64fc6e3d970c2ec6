import { randomBytes } from 'node:crypto';
import { access, mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CgroupBase } from './cgroup-detect';

/** One run's cgroup: its process tree is limited as a whole and killed as a whole. */
export interface RunCgroup {
  /** The `cgroup.procs` files a process writes its pid to, before it execs the program, to join the run. */
  procsFiles: string[];
  /** Kills every process of the run and resolves when none is left (or after KILL_DEADLINE_MS). Idempotent. */
  kill(): Promise<void>;
  /** Kills what is left and removes the cgroup; never throws (a leftover is swept at the next start). */
  remove(): Promise<void>;
}

const KILL_DEADLINE_MS = 5_000;
const NAME_PREFIX = 'lvlup-';

/**
 * This process's identity in cgroup names: its pid and start time, so a sweep can tell a dead owner from a live one
 * even after the pid was reused. Throws only when /proc is not mounted.
 */
export async function ownerTag(pid: number = process.pid): Promise<string> {
  return `${pid}.${await startTime(pid)}`;
}

/**
 * Creates the cgroup of one run under the worker's own (see detectCgroups) with its limits set: `pids.max`, the
 * memory of the whole tree without swap. Throws when the cgroup filesystem refuses (a transient problem the
 * activity's retry may outlive).
 */
export async function createRunCgroup(
  base: CgroupBase,
  tag: string,
  limits: { memoryMb: number; maxProcesses: number },
): Promise<RunCgroup> {
  const name = `${NAME_PREFIX}${tag}-${randomBytes(6).toString('hex')}`;
  const dirs = base.dirs.map((dir) => path.join(dir, name));
  const bytes = String(limits.memoryMb * 1024 * 1024);
  for (const dir of dirs) await mkdir(dir);
  try {
    const [first, second] = dirs;
    if (first === undefined) throw new Error('a cgroup base without directories');
    await writeFile(path.join(first, 'pids.max'), String(limits.maxProcesses));
    if (base.mode === 'v2') {
      await writeFile(path.join(first, 'memory.max'), bytes);
      await writeOptional(path.join(first, 'memory.swap.max'), '0');
    } else if (second !== undefined) {
      await writeFile(path.join(second, 'memory.limit_in_bytes'), bytes);
      // memsw (memory + swap) must be set after, and not below, the memory limit; absent without swap accounting.
      await writeOptional(path.join(second, 'memory.memsw.limit_in_bytes'), bytes);
    }
  } catch (err) {
    await Promise.all(dirs.map((dir) => rmdir(dir).catch(() => undefined)));
    throw err;
  }
  return handle(base, dirs);
}

/**
 * Removes the cgroups that runs of dead workers left behind (a worker killed mid-run), killing their processes first.
 * Cgroups of live workers, including other workers on this machine, are left alone. Never throws.
 */
export async function sweepStaleCgroups(base: CgroupBase): Promise<string[]> {
  const swept: string[] = [];
  // Each hierarchy on its own: under v1 a worker's memory cgroup may sit elsewhere than ours (another parent).
  for (const dir of base.dirs) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      const match = /^lvlup-(\d+)\.(\d+)-[0-9a-f]+$/.exec(name);
      if (match === null) continue;
      const [, pid = '', started = ''] = match;
      if ((await startTime(Number(pid)).catch(() => undefined)) === started) continue;
      await handle(base, [path.join(dir, name)]).remove();
      swept.push(path.join(dir, name));
    }
  }
  return swept;
}

function handle(base: CgroupBase, dirs: string[]): RunCgroup {
  const [first = ''] = dirs;
  let killing: Promise<void> | undefined;
  const kill = (): Promise<void> => {
    killing ??= killAll(base, first).finally(() => {
      killing = undefined;
    });
    return killing;
  };
  return {
    procsFiles: dirs.map((dir) => path.join(dir, 'cgroup.procs')),
    kill,
    remove: async () => {
      await kill().catch(() => undefined);
      for (const dir of dirs) await removeDir(dir);
    },
  };
}

/**
 * v2 with `cgroup.kill` (Linux 5.14+) kills atomically. Otherwise forks are stopped first (`pids.max` 0, so nothing
 * new can appear) and every listed process gets SIGKILL until the list is empty.
 */
async function killAll(base: CgroupBase, dir: string): Promise<void> {
  if (base.mode === 'v2' && (await writeOptional(path.join(dir, 'cgroup.kill'), '1'))) {
    await waitEmpty(dir, () => undefined);
    return;
  }
  await writeFile(path.join(dir, 'pids.max'), '0').catch(() => undefined);
  await waitEmpty(dir, (pids) => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // ESRCH: it exited between the read and the kill.
      }
    }
  });
}

async function waitEmpty(dir: string, onPids: (pids: number[]) => void): Promise<void> {
  const deadline = Date.now() + KILL_DEADLINE_MS;
  for (;;) {
    const pids = await listPids(dir);
    if (pids.length === 0 || Date.now() > deadline) return;
    onPids(pids);
    await sleep(10);
  }
}

async function listPids(dir: string): Promise<number[]> {
  const text = await readFile(path.join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid > 0 && pid !== process.pid);
}

/** A cgroup whose last process has just died may still be busy for a moment (exiting tasks): retry briefly. */
async function removeDir(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    try {
      await rmdir(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      await sleep(20);
    }
  }
}

/** Writes a control file that may not exist in this kernel or configuration; says whether it did. */
async function writeOptional(file: string, value: string): Promise<boolean> {
  try {
    await access(file);
    await writeFile(file, value);
    return true;
  } catch {
    return false;
  }
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), read after the command name's last ')'. */
async function startTime(pid: number): Promise<string> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const value = fields[19];
  if (value === undefined) throw new Error(`unexpected /proc/${pid}/stat`);
  return value;
}
