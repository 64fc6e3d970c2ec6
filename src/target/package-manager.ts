import { access, constants, readFile } from 'node:fs/promises';
import path from 'node:path';
import { resolveInside } from './paths';

/** Who installs a workspace's dependencies: detected from the lockfile, or `custom` for TARGET_SETUP_CMD. */
export type PackageManager = 'npm' | 'pnpm' | 'yarn' | 'custom';

/** Every file the install directory may receive: the manifest and the lockfiles, nothing that configures a tool. */
export const INSTALL_FILES = [
  'package.json',
  'package-lock.json',
  'npm-shrinkwrap.json',
  'pnpm-lock.yaml',
  'yarn.lock',
] as const;

export interface SetupOptions {
  /** TARGET_SETUP_CMD: a shell command that replaces detection. */
  setupCmd?: string;
  /** TARGET_INSTALL_SCRIPTS: let packages run their install scripts. */
  installScripts: boolean;
  /** TARGET_SETUP_NETWORK: false installs from the package cache only. */
  network: boolean;
  /** TARGET_NPM_REGISTRY. */
  registry: string;
  /** The package managers' download caches live under this directory, one folder per manager. */
  downloadCacheRoot: string;
}

export interface SetupPlan {
  manager: PackageManager;
  /** The lockfile the install follows, or null (no lockfile, or a custom command). */
  lockfile: string | null;
  /** The files copied into the install directory, with their bytes (the cache key hashes them). */
  files: Array<{ name: string; bytes: Buffer }>;
  /** Resolved on the sandbox's PATH. */
  program: string;
  args: string[];
  /** As shown on the run: `npm ci --ignore-scripts`. */
  command: string;
  /** Explicit tool configuration; the sandbox adds only PATH, HOME and LANG. */
  env: Record<string, string>;
  /** The manager's download cache (writable during setup only). */
  downloadCache: string;
  /** Said on the run when the install is weaker than a locked one. */
  note?: string;
}

export type SetupDecision = { kind: 'none'; reason: string } | { kind: 'install'; plan: SetupPlan };

const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'] as const;

/**
 * Decides how the dependencies of the checkout at `dir` are installed: TARGET_SETUP_CMD when set; else from the lockfile
 * (npm `package-lock.json`/`npm-shrinkwrap.json` → `npm ci`, `pnpm-lock.yaml` → `pnpm install --frozen-lockfile`,
 * `yarn.lock` → yarn classic `--frozen-lockfile` or berry `--immutable`); a package.json without a lockfile → `npm
 * install` without writing a lockfile (and the plan says so); no package.json, or one that declares no dependencies →
 * nothing to install. Files are read through resolveInside: a committed symlink cannot make us read outside the checkout.
 */
export async function planSetup(dir: string, opts: SetupOptions): Promise<SetupDecision> {
  const files = await readInstallFiles(dir);
  const manifest = files.find((f) => f.name === 'package.json');
  if (opts.setupCmd !== undefined) {
    return { kind: 'install', plan: customPlan(opts.setupCmd, files, opts) };
  }
  if (manifest === undefined) return { kind: 'none', reason: 'no package.json: nothing to install' };
  if (!declaresDependencies(manifest.bytes))
    return { kind: 'none', reason: 'package.json declares no dependencies: nothing to install' };
  const has = (name: string) => files.find((f) => f.name === name);
  const npmLock = has('npm-shrinkwrap.json') ?? has('package-lock.json');
  if (npmLock !== undefined) return { kind: 'install', plan: npmPlan(manifest, npmLock, opts) };
  const pnpmLock = has('pnpm-lock.yaml');
  if (pnpmLock !== undefined) return { kind: 'install', plan: pnpmPlan(manifest, pnpmLock, opts) };
  const yarnLock = has('yarn.lock');
  if (yarnLock !== undefined) return { kind: 'install', plan: yarnPlan(manifest, yarnLock, opts) };
  return { kind: 'install', plan: npmPlan(manifest, undefined, opts) };
}

/**
 * Where `program` would be found on the sandbox's PATH (the running node's directory, then the system directories), or
 * undefined: pnpm and yarn are not part of Node, and a worker without them must say so instead of failing obscurely.
 */
export async function findOnSandboxPath(program: string): Promise<string | undefined> {
  if (program.includes('/')) return program;
  const dirs = [
    path.dirname(process.execPath),
    '/usr/local/sbin',
    '/usr/local/bin',
    '/usr/sbin',
    '/usr/bin',
    '/sbin',
    '/bin',
  ];
  for (const dir of dirs) {
    const candidate = path.join(dir, program);
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  return undefined;
}

async function readInstallFiles(dir: string): Promise<Array<{ name: string; bytes: Buffer }>> {
  const out: Array<{ name: string; bytes: Buffer }> = [];
  for (const name of INSTALL_FILES) {
    const file = await resolveInside(dir, name);
    const bytes = await readFile(file).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'EISDIR') return undefined;
      throw err;
    });
    if (bytes !== undefined) out.push({ name, bytes });
  }
  return out;
}

function declaresDependencies(manifest: Buffer): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(manifest.toString('utf8'));
  } catch {
    return true; // Let the package manager report the broken manifest: that is the clearest reason.
  }
  if (typeof parsed !== 'object' || parsed === null) return true;
  const record = parsed as Record<string, unknown>;
  if (record.workspaces !== undefined) return true;
  return DEPENDENCY_FIELDS.some((field) => {
    const deps = record[field];
    return typeof deps === 'object' && deps !== null && Object.keys(deps).length > 0;
  });
}

/** npm without its side trips: no audit submission, funding message or update check (setup and runs alike). */
export const QUIET_NPM_ENV: Readonly<Record<string, string>> = Object.freeze({
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
});

/** npm's own configuration, explicit: our registry and cache, no audit, fund or update check, scripts as allowed. */
function npmEnv(opts: SetupOptions, cache: string): Record<string, string> {
  return {
    npm_config_cache: cache,
    npm_config_registry: opts.registry,
    ...QUIET_NPM_ENV,
    npm_config_ignore_scripts: String(!opts.installScripts),
    ...(opts.network ? {} : { npm_config_offline: 'true' }),
  };
}

function npmPlan(
  manifest: { name: string; bytes: Buffer },
  lock: { name: string; bytes: Buffer } | undefined,
  opts: SetupOptions,
): SetupPlan {
  const downloadCache = path.join(opts.downloadCacheRoot, 'npm');
  const flags = [...(opts.installScripts ? [] : ['--ignore-scripts']), ...(opts.network ? [] : ['--offline'])];
  const args = lock === undefined ? ['install', '--no-package-lock', ...flags] : ['ci', ...flags];
  return {
    manager: 'npm',
    lockfile: lock?.name ?? null,
    files: lock === undefined ? [manifest] : [manifest, lock],
    program: 'npm',
    args,
    command: ['npm', ...args].join(' '),
    env: npmEnv(opts, downloadCache),
    downloadCache,
    ...(lock === undefined && {
      note: 'no lockfile: installed from package.json with npm install (versions are not pinned; no lockfile is written back)',
    }),
  };
}

function pnpmPlan(
  manifest: { name: string; bytes: Buffer },
  lock: { name: string; bytes: Buffer },
  opts: SetupOptions,
): SetupPlan {
  const downloadCache = path.join(opts.downloadCacheRoot, 'pnpm');
  const args = [
    'install',
    '--frozen-lockfile',
    ...(opts.installScripts ? [] : ['--ignore-scripts']),
    ...(opts.network ? [] : ['--offline']),
  ];
  return {
    manager: 'pnpm',
    lockfile: lock.name,
    files: [manifest, lock],
    program: 'pnpm',
    args,
    command: ['pnpm', ...args].join(' '),
    env: {
      ...npmEnv(opts, path.join(downloadCache, 'metadata')),
      npm_config_store_dir: path.join(downloadCache, 'store'),
    },
    downloadCache,
  };
}

/** Yarn berry lockfiles carry a `__metadata:` block; classic ones start `# yarn lockfile v1`. */
function yarnPlan(
  manifest: { name: string; bytes: Buffer },
  lock: { name: string; bytes: Buffer },
  opts: SetupOptions,
): SetupPlan {
  const downloadCache = path.join(opts.downloadCacheRoot, 'yarn');
  const berry = /^__metadata:/m.test(lock.bytes.toString('utf8'));
  const args = berry
    ? ['install', '--immutable', ...(opts.installScripts ? [] : ['--mode=skip-build'])]
    : [
        'install',
        '--frozen-lockfile',
        '--non-interactive',
        ...(opts.installScripts ? [] : ['--ignore-scripts']),
        ...(opts.network ? [] : ['--offline']),
      ];
  const env = berry
    ? {
        YARN_NODE_LINKER: 'node-modules',
        YARN_CACHE_FOLDER: downloadCache,
        YARN_ENABLE_GLOBAL_CACHE: 'false',
        YARN_ENABLE_TELEMETRY: '0',
        YARN_ENABLE_SCRIPTS: String(opts.installScripts),
        YARN_NPM_REGISTRY_SERVER: opts.registry.replace(/\/+$/, ''),
        ...(opts.network ? {} : { YARN_ENABLE_OFFLINE_MODE: '1' }),
      }
    : {
        ...npmEnv(opts, path.join(downloadCache, 'npm')),
        YARN_CACHE_FOLDER: downloadCache,
        YARN_REGISTRY: opts.registry,
      };
  return {
    manager: 'yarn',
    lockfile: lock.name,
    files: [manifest, lock],
    program: 'yarn',
    args,
    command: ['yarn', ...args].join(' '),
    env,
    downloadCache,
  };
}

function customPlan(setupCmd: string, files: Array<{ name: string; bytes: Buffer }>, opts: SetupOptions): SetupPlan {
  const downloadCache = path.join(opts.downloadCacheRoot, 'npm');
  return {
    manager: 'custom',
    lockfile: files.find((f) => f.name !== 'package.json')?.name ?? null,
    files,
    program: '/bin/sh',
    args: ['-c', setupCmd],
    command: setupCmd,
    env: npmEnv(opts, downloadCache),
    downloadCache,
  };
}
