import { lstat, readlink, realpath } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * What a run sees under bwrap: the system directories and the node runtime read-only, a handful of /etc files, and
 * the paths of the request. Everything else of the host is absent (the root is an empty tmpfs), so `/etc/shadow`,
 * HOME, `DATA_DIR` with other runs' worktrees and the product's own files cannot be read.
 */
export interface SystemView {
  /** bwrap arguments for the system directories and /etc, the same for every run. */
  args: string[];
  /** Directories bound read-only for every run (to decide which hidden paths need covering). */
  roots: string[];
  /** Synthetic /etc files given to bwrap through file descriptors 3, 4, …, in this order. */
  files: Array<{ path: string; content: string }>;
}

const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/**
 * The /etc entries a tool runtime needs: the dynamic loader's cache, name resolution for a setup run's network,
 * TLS trust stores, the alternatives symlinks /usr/bin points into, and the time zone. Not shadow, not the rest.
 */
const ETC_ENTRIES = [
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'hosts',
  'host.conf',
  'resolv.conf',
  'gai.conf',
  'services',
  'protocols',
  'ssl',
  'ca-certificates',
  'ca-certificates.conf',
  'pki',
  'alternatives',
  'localtime',
  'timezone',
  'mime.types',
];

/** Both /etc files that libc and node read for user names are made up: the host's accounts are nobody's business. */
function syntheticFiles(): Array<{ path: string; content: string }> {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const passwd = ['root:x:0:0:root:/root:/bin/sh', 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin'];
  const group = ['root:x:0:', 'nogroup:x:65534:'];
  if (uid !== 0 && uid !== 65534) passwd.push(`sandbox:x:${uid}:${gid}:sandbox:/tmp:/bin/sh`);
  if (gid !== 0 && gid !== 65534) group.push(`sandbox:x:${gid}:`);
  return [
    { path: '/etc/passwd', content: `${passwd.join('\n')}\n` },
    { path: '/etc/group', content: `${group.join('\n')}\n` },
    {
      path: '/etc/nsswitch.conf',
      content: 'passwd: files\ngroup: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n',
    },
  ];
}

/**
 * Looks at this machine once: which system directories exist (on merged-/usr systems /bin, /lib… are symlinks, recreated
 * as such), where the running node is installed when that is outside them (nvm, /opt), and which /etc entries exist.
 */
export async function systemView(): Promise<SystemView> {
  const args: string[] = [];
  const roots: string[] = [];
  for (const dir of SYSTEM_DIRS) {
    const info = await lstat(dir).catch(() => undefined);
    if (info?.isSymbolicLink() === true) args.push('--symlink', await readlink(dir), dir);
    else if (info?.isDirectory() === true) {
      args.push('--ro-bind', dir, dir);
      roots.push(dir);
    }
  }
  const runtime = path.dirname(path.dirname(await realpath(process.execPath)));
  if (!roots.some((root) => isWithin(runtime, root))) {
    args.push('--ro-bind', runtime, runtime);
    roots.push(runtime);
  }
  for (const entry of ETC_ENTRIES) {
    const host = path.join('/etc', entry);
    // Bound through its symlinks (resolv.conf often points into /run, which the sandbox does not have).
    const target = await realpath(host).catch(() => undefined);
    if (target !== undefined) args.push('--ro-bind', target, host);
  }
  return { args, roots, files: syntheticFiles() };
}

export interface RunPaths {
  /** The work directory (real path), writable. */
  cwd: string;
  readOnly: string[];
  writable: string[];
  /** Directories to hide wherever they fall inside something bound (HOME, DATA_DIR, the product's directory). */
  hidden: string[];
}

/**
 * The per-run mounts, parents before children so a hidden directory's tmpfs never covers a path bound inside it:
 * the work directory of a run inside DATA_DIR stays visible while DATA_DIR's other contents do not. A hidden path
 * equal to or containing a bound path hides nothing (binding it was the caller's explicit choice; its siblings are
 * absent anyway).
 */
export function runMounts(view: SystemView, paths: RunPaths): string[] {
  type Mount = { path: string; args: string[] };
  const bound = [...view.roots, paths.cwd, ...paths.readOnly, ...paths.writable];
  const mounts: Mount[] = [
    ...paths.readOnly.map((p) => ({ path: p, args: ['--ro-bind', p, p] })),
    ...paths.writable.map((p) => ({ path: p, args: ['--bind', p, p] })),
    { path: paths.cwd, args: ['--bind', paths.cwd, paths.cwd] },
    ...paths.hidden
      .filter((hidden) => bound.some((b) => hidden !== b && isWithin(hidden, b)))
      .map((hidden) => ({ path: hidden, args: ['--tmpfs', hidden] })),
  ];
  const depth = (p: string) => p.split('/').filter(Boolean).length;
  return [...view.args, ...mounts.sort((a, b) => depth(a.path) - depth(b.path)).flatMap((m) => m.args)];
}

/** Real paths of the directories to hide by default: the worker's HOME, /root and /home. */
export function defaultHiddenPaths(): string[] {
  return [os.homedir(), '/root', '/home'];
}

/** True when `child` is `parent` or lies inside it (both absolute and normalized). */
export function isWithin(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
