import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { redactGitUrl } from '../domain/git-url';
import { git } from './git';
import { remoteGitEnv, scrubCredentials, type GitCredentials } from './git-credentials';

/** TARGET_REPO_URL and its companions, as the config gives them. */
export interface RemoteSpec {
  url: string;
  /** TARGET_REPO_BRANCH; the remote's HEAD (when the mirror was made) when absent. */
  branch?: string;
  /** A fetch younger than this is not repeated (0: fetch before every piece of work). */
  fetchMinIntervalSeconds: number;
  sshCommand?: string;
}

/** A permanent problem with the remote target (the branch does not exist); a network failure is a plain Error. */
export class RemoteTargetError extends Error {
  constructor(
    readonly code: 'branch_missing',
    message: string,
  ) {
    super(message);
    this.name = 'RemoteTargetError';
  }
}

/** What a worker holds for a remote target: its mirror and the git calls that reach the remote with its credentials. */
export interface RemoteAccess {
  /** The remote's URL, credential-free. */
  url: string;
  branch: string | undefined;
  /** The bare mirror under DATA_DIR/mirrors (worktrees are made from it). */
  dir: string;
  /** Fetches now (joining a fetch already in flight), whatever the minimum interval. */
  fetch(): Promise<void>;
  /**
   * Creates `refs/heads/<branch>` on the remote at `commit`, only if the remote has no such branch (a lease that
   * expects it absent): `created`, `same` (it already points at `commit`) or `rejected` (it exists elsewhere).
   */
  pushNewBranch(branch: string, commit: string): Promise<'created' | 'same' | 'rejected'>;
}

interface MirrorState {
  inflight: Promise<void> | undefined;
  lastFetchAt: number;
}
/** Per process: at most one clone or fetch in flight per mirror, and when it last fetched. */
const states = new Map<string, MirrorState>();

/** `DATA_DIR/mirrors/<first 16 hex of sha256(url)>.git`: one mirror per remote per worker. */
export function mirrorDir(dataDir: string, url: string): string {
  return path.join(
    dataDir,
    'mirrors',
    `${createHash('sha256').update(redactGitUrl(url), 'utf8').digest('hex').slice(0, 16)}.git`,
  );
}

/**
 * The worker's mirror of the remote, cloned on first use (into a staging directory renamed into place, so a crash or
 * a concurrent clone never leaves half a mirror) and fetched before it is returned unless it was fetched less than
 * `fetchMinIntervalSeconds` ago. HEAD is pointed at TARGET_REPO_BRANCH when one is set. Throws RemoteTargetError for
 * a branch the remote does not have, a plain Error (credentials scrubbed) when git cannot reach the remote.
 */
export async function openMirror(
  dataDir: string,
  spec: RemoteSpec,
  credentials: GitCredentials | null,
): Promise<RemoteAccess> {
  const dir = mirrorDir(dataDir, spec.url);
  const env = remoteGitEnv({ url: spec.url, credentials, sshCommand: spec.sshCommand });
  const remoteGit = async (cwd: string, args: string[]) => {
    try {
      return await git(cwd, args, { env });
    } catch (err) {
      throw new Error(scrubCredentials((err as Error).message, credentials), {
        cause: scrubbedCause(err, credentials),
      });
    }
  };
  const state = states.get(dir) ?? { inflight: undefined, lastFetchAt: 0 };
  states.set(dir, state);
  const refresh = (force: boolean): Promise<void> => {
    if (state.inflight !== undefined) return state.inflight;
    if (!force && existsSync(dir) && Date.now() - state.lastFetchAt < spec.fetchMinIntervalSeconds * 1000)
      return Promise.resolve();
    state.inflight = (async () => {
      const started = Date.now();
      if (existsSync(dir)) await remoteGit(dir, ['fetch', '--quiet', '--prune', '--no-tags', 'origin']);
      else await cloneMirror(dir, spec.url, remoteGit);
      await pointHead(dir, spec.branch);
      state.lastFetchAt = started;
    })().finally(() => {
      state.inflight = undefined;
    });
    return state.inflight;
  };
  await refresh(false);
  return {
    url: redactGitUrl(spec.url),
    branch: spec.branch,
    dir,
    fetch: () => refresh(true),
    pushNewBranch: (branch, commit) => pushNewBranch(dir, branch, commit, remoteGit),
  };
}

type RemoteGit = (cwd: string, args: string[]) => Promise<string>;

async function cloneMirror(dir: string, url: string, remoteGit: RemoteGit): Promise<void> {
  const parent = path.dirname(dir);
  await mkdir(parent, { recursive: true });
  const staging = `${dir}.staging-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await remoteGit(parent, ['clone', '--bare', '--quiet', '--no-tags', '--', url, staging]);
    // Branches only (a bare clone has no fetch refspec; `--mirror` would also fetch every pull-request ref).
    await git(staging, ['config', 'remote.origin.fetch', '+refs/heads/*:refs/heads/*']);
    await rename(staging, dir).catch((err: NodeJS.ErrnoException) => {
      // Another process of this worker won the race: its mirror is as good as ours.
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function pointHead(dir: string, branch: string | undefined): Promise<void> {
  if (branch === undefined) return;
  const found = (await git(dir, ['for-each-ref', '--format=%(refname)', `refs/heads/${branch}`])).split('\n');
  if (!found.includes(`refs/heads/${branch}`))
    throw new RemoteTargetError('branch_missing', `TARGET_REPO_BRANCH ${branch} does not exist on the remote`);
  await git(dir, ['symbolic-ref', 'HEAD', `refs/heads/${branch}`]);
}

async function pushNewBranch(
  dir: string,
  branch: string,
  commit: string,
  remoteGit: RemoteGit,
): Promise<'created' | 'same' | 'rejected'> {
  const ref = `refs/heads/${branch}`;
  let out: string;
  try {
    out = await remoteGit(dir, [
      'push',
      '--porcelain',
      '--no-verify',
      `--force-with-lease=${ref}:`,
      'origin',
      `${commit}:${ref}`,
    ]);
  } catch (err) {
    const stdout = (err as Error & { cause?: { stdout?: unknown } }).cause?.stdout;
    if (typeof stdout === 'string' && statusOf(stdout, ref) === '!') return 'rejected';
    throw err;
  }
  const status = statusOf(out, ref);
  if (status === '*') return 'created';
  if (status === '=') return 'same';
  throw new Error(`git push of ${ref} reported ${JSON.stringify(status)}: ${out.trim().slice(0, 500)}`);
}

/** The flag of `ref` in `git push --porcelain` output (`*` new, `=` up to date, `!` rejected, …). */
function statusOf(porcelain: string, ref: string): string | undefined {
  const line = porcelain.split('\n').find((l) => l.includes(`:${ref}\t`));
  return line?.charAt(0);
}

/** The execFile error as a cause, with its stdout, stderr and message scrubbed of the credentials. */
function scrubbedCause(
  err: unknown,
  creds: GitCredentials | null,
): Error & { stdout?: string; stderr?: string; code?: unknown } {
  const cause = (err as Error & { cause?: { stdout?: unknown; stderr?: unknown; code?: unknown; message?: unknown } })
    .cause;
  const scrub = (v: unknown) => (typeof v === 'string' ? scrubCredentials(v, creds) : undefined);
  return Object.assign(new Error(scrub(cause?.message) ?? 'git failed'), {
    stdout: scrub(cause?.stdout),
    stderr: scrub(cause?.stderr),
    code: cause?.code,
  });
}
