import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../logger';

/** The last tag `go install` accepts (later ones carry a `replace` directive that go install refuses). */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const MODULE = 'github.com/temporalio/cli/cmd/temporal';

export interface CliLookup {
  cliPath?: string;
  cacheDir?: string;
  env?: NodeJS.ProcessEnv;
  logger: Logger;
}

/** Thrown when no Temporal CLI can be found or built; the message says what to install. */
export class TemporalCliUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemporalCliUnavailable';
  }
}

/** Where the CLI is built and kept, outside any clone so that every checkout and CI run reuses it. */
export function defaultCliCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME ?? path.join(env.HOME ?? os.homedir(), '.cache');
  return path.join(base, 'lvlup', `temporal-cli-${TEMPORAL_CLI_VERSION}`);
}

/**
 * Finds the Temporal CLI: TEMPORAL_CLI_PATH, else `temporal` on PATH, else the cached build, else builds it with
 * `go install` into the cache (minutes, once). Throws TemporalCliUnavailable when none of these can work.
 */
export async function resolveTemporalCli({ cliPath, cacheDir, env = process.env, logger }: CliLookup): Promise<string> {
  if (cliPath !== undefined) {
    if (await isExecutable(cliPath)) return cliPath;
    throw new TemporalCliUnavailable(`TEMPORAL_CLI_PATH=${cliPath} is not an executable file.`);
  }
  const onPath = await findOnPath('temporal', env);
  if (onPath !== undefined) return onPath;
  const dir = cacheDir ?? defaultCliCacheDir(env);
  const cached = path.join(dir, 'temporal');
  if (await isExecutable(cached)) return cached;
  const go =
    (await findOnPath('go', env)) ??
    ((await isExecutable('/usr/local/go/bin/go')) ? '/usr/local/go/bin/go' : undefined);
  if (go === undefined) {
    throw new TemporalCliUnavailable(
      'No Temporal CLI found and no Go toolchain to build one. Install the Temporal CLI (https://docs.temporal.io/cli) ' +
        'and put `temporal` on PATH or set TEMPORAL_CLI_PATH, or install Go ≥ 1.22 so it can be built once ' +
        `(go install ${MODULE}@${TEMPORAL_CLI_VERSION}).`,
    );
  }
  logger.info(`building the Temporal CLI ${TEMPORAL_CLI_VERSION} with ${go} into ${dir} (one time, takes minutes)`);
  await buildCli(go, dir, env);
  logger.info(`Temporal CLI ready at ${cached}`);
  return cached;
}

async function buildCli(go: string, dir: string, env: NodeJS.ProcessEnv): Promise<void> {
  await mkdir(dir, { recursive: true });
  // Build into a private folder and rename, so a concurrent or interrupted build never leaves a half-written binary.
  const staging = await mkdtemp(path.join(dir, '.build-'));
  try {
    await run(go, ['install', `${MODULE}@${TEMPORAL_CLI_VERSION}`], { ...env, GOBIN: staging, GOFLAGS: '-mod=mod' });
    await rename(path.join(staging, 'temporal'), path.join(dir, 'temporal'));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new TemporalCliUnavailable(`${cmd} ${args.join(' ')} exited with ${code}`)),
    );
  });
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function findOnPath(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}
