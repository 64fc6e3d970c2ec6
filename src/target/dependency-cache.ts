import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rename, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Installed dependency trees, one per key, under `root` (`DATA_DIR/workspaces/deps`): `<root>/<key>/node_modules`. An
 * entry is built in `<root>/.staging/` and renamed into place, so it is complete or absent; holders take a lease (a file
 * named for their pid) that eviction respects; past `capBytes` the least recently used entries without a live lease go.
 */
export interface DependencyCache {
  root: string;
  capBytes: number;
}

export interface CacheEntry {
  key: string;
  /** `<root>/<key>`: what a run may read (bound read-only). */
  dir: string;
  /** `<root>/<key>/node_modules`: what the worktree's `node_modules` links to. */
  nodeModules: string;
  /** Ends this holder's lease; eviction may then take the entry. */
  release(): Promise<void>;
}

export interface CacheKeyParts {
  manager: string;
  /** The manifest and lockfile bytes, by file name. */
  files: Array<{ name: string; bytes: Buffer }>;
  installScripts: boolean;
  command: string;
  /** `process.versions.node`'s major, platform and arch: native modules differ across them. */
  runtime: string;
}

const META = '.lvlup-entry.json';
const LEASES = '.leases';

/** The cache key: sha256 over every part that changes what an install produces. */
export function dependencyCacheKey(parts: CacheKeyParts): string {
  const hash = createHash('sha256');
  const field = (name: string, value: string | Buffer) =>
    hash
      .update(`${name}\0${Buffer.byteLength(value)}\0`)
      .update(value)
      .update('\0');
  field('manager', parts.manager);
  for (const file of [...parts.files].sort((a, b) => a.name.localeCompare(b.name)))
    field(`file:${file.name}`, file.bytes);
  field('installScripts', String(parts.installScripts));
  field('command', parts.command);
  field('runtime', parts.runtime);
  return hash.digest('hex').slice(0, 32);
}

/** This worker's runtime as the cache key counts it. */
export function runtimeTag(): string {
  return `node${process.versions.node.split('.')[0] ?? '?'}-${process.platform}-${process.arch}`;
}

/** The entry for `key`, leased to the caller, or undefined on a miss (or when eviction took it meanwhile). */
export async function acquireCached(cache: DependencyCache, key: string): Promise<CacheEntry | undefined> {
  const dir = path.join(cache.root, key);
  const lease = path.join(dir, LEASES, `${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    await writeFile(lease, '', { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  // An evictor renames the entry away before it looks for leases: if ours moved with it, this is a miss.
  const inPlace = await stat(lease).then(
    () => true,
    () => false,
  );
  const complete =
    inPlace &&
    (await stat(path.join(dir, 'node_modules')).then(
      (s) => s.isDirectory(),
      () => false,
    ));
  if (!complete) {
    await unlink(lease).catch(() => undefined);
    return undefined;
  }
  const now = new Date();
  await utimes(path.join(dir, META), now, now).catch(() => undefined);
  return entryOf(cache, key, lease);
}

/** A fresh, empty staging directory for building `key`; the caller installs into it, then publishes or discards it. */
export async function createStaging(cache: DependencyCache, key: string): Promise<string> {
  const dir = path.join(cache.root, '.staging', `${key}-${process.pid}-${randomBytes(6).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * Moves a built staging directory into place as `key` with one rename and returns it leased. When another builder
 * published the key first, ours is discarded and theirs returned: two builders never mix their trees.
 */
export async function publishStaging(cache: DependencyCache, key: string, staging: string): Promise<CacheEntry> {
  const sizeBytes = await treeSize(staging);
  await writeFile(path.join(staging, META), JSON.stringify({ key, sizeBytes, createdAt: new Date().toISOString() }));
  await mkdir(path.join(staging, LEASES), { recursive: true });
  const lease = path.join(staging, LEASES, `${process.pid}-${randomBytes(6).toString('hex')}`);
  await writeFile(lease, '');
  const dir = path.join(cache.root, key);
  try {
    await rename(staging, dir);
    return entryOf(cache, key, path.join(dir, LEASES, path.basename(lease)));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    await rm(staging, { recursive: true, force: true });
    const theirs = await acquireCached(cache, key);
    if (theirs === undefined)
      throw new Error(`dependency cache entry ${key} was published by another builder and evicted at once; retry`);
    return theirs;
  }
}

/** Removes a staging directory that will not be published (a failed install). */
export async function discardStaging(staging: string): Promise<void> {
  await rm(staging, { recursive: true, force: true });
}

/**
 * Evicts least recently used entries until the cache fits `capBytes`, never one with a live lease nor `keep`; returns
 * the evicted keys. An entry is first renamed aside, then checked for leases taken meanwhile (and put back if so).
 */
export async function evictOverCap(cache: DependencyCache, keep?: string): Promise<string[]> {
  await sweepLeftovers(cache);
  const entries = await listEntries(cache);
  let total = entries.reduce((sum, e) => sum + e.sizeBytes, 0);
  const evicted: string[] = [];
  for (const entry of entries.sort((a, b) => a.lastUsedMs - b.lastUsedMs)) {
    if (total <= cache.capBytes) break;
    if (entry.key === keep || (await hasLiveLease(entry.dir))) continue;
    const aside = path.join(cache.root, '.trash', `${entry.key}-${randomBytes(6).toString('hex')}`);
    await mkdir(path.dirname(aside), { recursive: true });
    if (
      !(await rename(entry.dir, aside).then(
        () => true,
        () => false,
      ))
    )
      continue;
    if (await hasLiveLease(aside)) {
      await rename(aside, entry.dir).catch(() => rm(aside, { recursive: true, force: true }));
      continue;
    }
    await rm(aside, { recursive: true, force: true });
    total -= entry.sizeBytes;
    evicted.push(entry.key);
  }
  return evicted;
}

/** Every published entry with its recorded size and last use (the mtime of its metadata file). */
export async function listEntries(
  cache: DependencyCache,
): Promise<Array<{ key: string; dir: string; sizeBytes: number; lastUsedMs: number }>> {
  const names = await readdir(cache.root).catch(() => [] as string[]);
  const out: Array<{ key: string; dir: string; sizeBytes: number; lastUsedMs: number }> = [];
  for (const key of names.filter((n) => !n.startsWith('.'))) {
    const dir = path.join(cache.root, key);
    const meta = path.join(dir, META);
    const [text, info] = await Promise.all([
      readFile(meta, 'utf8').catch(() => undefined),
      stat(meta).catch(() => undefined),
    ]);
    const sizeBytes = text === undefined ? 0 : Number((JSON.parse(text) as { sizeBytes?: unknown }).sizeBytes) || 0;
    out.push({ key, dir, sizeBytes, lastUsedMs: info?.mtimeMs ?? 0 });
  }
  return out;
}

/** Staging directories of builders that died mid-install, and anything left in the trash. */
async function sweepLeftovers(cache: DependencyCache): Promise<void> {
  const staging = path.join(cache.root, '.staging');
  for (const name of await readdir(staging).catch(() => [] as string[])) {
    const pid = Number(name.split('-')[1]);
    if (Number.isInteger(pid) && pid > 0 && !isAlive(pid))
      await rm(path.join(staging, name), { recursive: true, force: true });
  }
  const trash = path.join(cache.root, '.trash');
  for (const name of await readdir(trash).catch(() => [] as string[])) {
    if (!(await hasLiveLease(path.join(trash, name))))
      await rm(path.join(trash, name), { recursive: true, force: true });
  }
}

function entryOf(cache: DependencyCache, key: string, lease: string): CacheEntry {
  const dir = path.join(cache.root, key);
  return { key, dir, nodeModules: path.join(dir, 'node_modules'), release: () => unlink(lease).catch(() => undefined) };
}

async function hasLiveLease(dir: string): Promise<boolean> {
  const leases = await readdir(path.join(dir, LEASES)).catch(() => [] as string[]);
  for (const name of leases) {
    const pid = Number(name.split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) return true;
    await unlink(path.join(dir, LEASES, name)).catch(() => undefined); // a crashed holder's lease
  }
  return false;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Bytes of a tree, symlinks not followed and hard links counted once (pnpm links files from its store). */
async function treeSize(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) {
        await walk(full);
        continue;
      }
      const info = await lstat(full);
      const id = `${info.dev}:${info.ino}`;
      if (info.nlink > 1 && seen.has(id)) continue;
      seen.add(id);
      total += info.size;
    }
  };
  await walk(dir);
  return total;
}
