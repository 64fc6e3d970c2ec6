import { readFile, writeFile, mkdir, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type { SandboxCgroupMode } from './types';

/** Where per-run cgroups are created: one directory (v2) or one per controller (v1: pids first, then memory). */
export interface CgroupBase {
  mode: Exclude<SandboxCgroupMode, 'none'>;
  /** v2: [the unified dir]; v1: [the pids dir, the memory dir]. Each is the worker's own cgroup in that hierarchy. */
  dirs: string[];
}

export type CgroupDetection = { base: CgroupBase; reason?: undefined } | { base?: undefined; reason: string };

interface CgroupMount {
  fstype: 'cgroup' | 'cgroup2';
  root: string;
  mountPoint: string;
  options: string[];
}

/**
 * Finds a cgroup hierarchy in which this worker may create child cgroups with both the `pids` and the `memory`
 * controller: v2 first (enabling the controllers for its children, moving the worker into a leaf `lvlup-worker` when
 * the no-internal-processes rule demands it), then v1's separate pids and memory hierarchies. Never throws: when no
 * hierarchy is usable it returns the reason, for the sandbox's warnings.
 */
export async function detectCgroups(ownerTag: string): Promise<CgroupDetection> {
  const [mountinfo, membership] = await Promise.all([
    readFile('/proc/self/mountinfo', 'utf8').catch(() => ''),
    readFile('/proc/self/cgroup', 'utf8').catch(() => ''),
  ]);
  const mounts = parseMountinfo(mountinfo);
  const own = parseMembership(membership);
  const reasons: string[] = [];
  const v2 = mounts.find((m) => m.fstype === 'cgroup2');
  const v2Path = own.get('');
  if (v2 !== undefined && v2Path !== undefined) {
    const dir = cgroupDir(v2, v2Path);
    const problem = await prepareV2(dir);
    if (problem === undefined) return { base: { mode: 'v2', dirs: [dir] } };
    reasons.push(`cgroup v2 at ${dir}: ${problem}`);
  }
  const v1Dirs: string[] = [];
  for (const controller of ['pids', 'memory']) {
    const mount = mounts.find((m) => m.fstype === 'cgroup' && m.options.includes(controller));
    const own1 = own.get(controller);
    if (mount === undefined || own1 === undefined) {
      reasons.push(`no cgroup v1 ${controller} hierarchy`);
      break;
    }
    const dir = cgroupDir(mount, own1);
    const problem = await probeChild(dir, ownerTag);
    if (problem !== undefined) {
      reasons.push(`cgroup v1 ${controller} at ${dir}: ${problem}`);
      break;
    }
    v1Dirs.push(dir);
  }
  if (v1Dirs.length === 2) return { base: { mode: 'v1', dirs: v1Dirs } };
  return { reason: reasons.join('; ') || 'no cgroup filesystem is mounted' };
}

/** v2: the worker's cgroup must offer memory and pids and hand them to its children. */
async function prepareV2(dir: string): Promise<string | undefined> {
  const controllers = await readFile(path.join(dir, 'cgroup.controllers'), 'utf8').catch(() => '');
  const missing = ['memory', 'pids'].filter((c) => !controllers.split(/\s+/).includes(c));
  if (missing.length > 0) return `controllers ${missing.join(', ')} are not delegated to this cgroup`;
  const enable = () => writeFile(path.join(dir, 'cgroup.subtree_control'), '+memory +pids');
  try {
    await enable();
    return undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EBUSY') return `cannot enable controllers: ${(err as Error).message}`;
  }
  // EBUSY: processes live in this cgroup, and a v2 cgroup with processes cannot hand controllers to children. Move the
  // worker into a leaf of its own; when other processes remain (a container's init), there is no way for us.
  try {
    const leaf = path.join(dir, 'lvlup-worker');
    await mkdir(leaf, { recursive: true });
    await writeFile(path.join(leaf, 'cgroup.procs'), String(process.pid));
    await enable();
    return undefined;
  } catch (err) {
    return `cannot enable controllers for child cgroups (other processes share this cgroup?): ${(err as Error).message}`;
  }
}

/** v1: creating (and removing) a child proves the hierarchy is writable for us. */
async function probeChild(dir: string, ownerTag: string): Promise<string | undefined> {
  const probe = path.join(dir, `lvlup-${ownerTag}-probe`);
  try {
    await mkdir(probe);
    await rmdir(probe);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** `/proc/self/mountinfo` lines of cgroup filesystems. */
function parseMountinfo(text: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    const fields = left.split(' ');
    const [fstype, , superOptions = ''] = right.split(' ');
    const root = fields[3];
    const mountPoint = fields[4];
    if ((fstype !== 'cgroup' && fstype !== 'cgroup2') || root === undefined || mountPoint === undefined) continue;
    mounts.push({
      fstype,
      root: unescapeOctal(root),
      mountPoint: unescapeOctal(mountPoint),
      options: superOptions.split(','),
    });
  }
  return mounts;
}

/** `/proc/self/cgroup`: controller name (v2: '') → this process's path in that hierarchy. */
function parseMembership(text: string): Map<string, string> {
  const own = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line);
    if (match === null) continue;
    const [, controllers = '', cgroupPath = '/'] = match;
    for (const controller of controllers.split(',')) own.set(controller, cgroupPath);
  }
  return own;
}

/** A mount shows the hierarchy from `root` down (a container sees only its part): strip that prefix. */
function cgroupDir(mount: CgroupMount, cgroupPath: string): string {
  const relative =
    mount.root !== '/' && cgroupPath.startsWith(mount.root) ? cgroupPath.slice(mount.root.length) : cgroupPath;
  return path.join(mount.mountPoint, relative);
}

function unescapeOctal(value: string): string {
  return value.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
