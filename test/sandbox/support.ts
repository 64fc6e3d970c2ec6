import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/logger';
import { detectCgroups, type CgroupBase } from '../../src/sandbox/cgroup-detect';
import { ownerTag } from '../../src/sandbox/cgroup';

export const logger = createLogger({ level: 'error', format: 'json' });
export const NODE = process.execPath;
export const BOGUS_BWRAP = '/nonexistent/bwrap';
/** Checked independently of the module: where bwrap works here, the tests demand that the sandbox uses it. */
export const BWRAP_WORKS = spawnSync('bwrap', ['--unshare-all', '--ro-bind', '/', '/', 'true']).status === 0;

/** The cgroup hierarchy the sandbox will use on this machine, if any, and this process's tag in cgroup names. */
export async function cgroupSetup(): Promise<{ base: CgroupBase | undefined; tag: string }> {
  const tag = await ownerTag();
  return { base: (await detectCgroups(tag)).base, tag };
}

/** The run cgroups of this process still present: after every run there must be none. */
export async function leftoverCgroups(base: CgroupBase | undefined, tag: string): Promise<string[]> {
  if (base === undefined) return [];
  const names = await Promise.all(base.dirs.map((dir) => readdir(dir).catch(() => [] as string[])));
  return names.flat().filter((name) => name.startsWith(`lvlup-${tag}-`));
}

/** Live processes whose command line contains `token` (the whole machine, not only the run's). */
export async function processesWith(token: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(token)) found.push(pid);
  }
  return found;
}

/** Temporary directories, removed after each test. */
export function tempDirs(): { make(base?: string): Promise<string>; cleanup(): Promise<void> } {
  const dirs: string[] = [];
  return {
    async make(base = os.tmpdir()) {
      const dir = await mkdtemp(path.join(base, 'lvlup-sandbox-test-'));
      dirs.push(dir);
      return dir;
    },
    async cleanup() {
      await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
}
