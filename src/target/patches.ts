import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DiffParseError, normalizeDiff, parseUnifiedDiff, validateDiffPaths, type ParsedDiff } from '../domain/diff';
import { git } from './git';
import { PathEscapeError, resolveInside } from './paths';
import { withWorktree } from './worktrees';

/** Stable reasons a patch is refused; none of them goes away on a retry. */
export type PatchErrorCode =
  | 'invalid_diff'
  | 'unsafe_path'
  | 'does_not_apply'
  | 'invalid_branch'
  | 'branch_exists'
  | 'invalid_commit';

/** A patch or branch that can never be applied as asked (a permanent failure, unlike a git or disk hiccup). */
export class PatchError extends Error {
  constructor(
    readonly code: PatchErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PatchError';
  }
}

const MAX_GIT_ERROR = 2000;

/** The duplicate-detection key of a diff: sha256 (hex) of its normalized form. */
export function diffHash(text: string): string {
  return createHash('sha256').update(normalizeDiff(text), 'utf8').digest('hex');
}

/** The commit the repository's HEAD points at. Throws when the repository has no commit. */
export async function headCommit(repoPath: string): Promise<string> {
  return (await git(repoPath, ['rev-parse', '--verify', 'HEAD^{commit}'])).trim();
}

/**
 * Whether `diff` applies cleanly to the tree in `dir` (a worktree): the diff must parse, its paths must pass the path
 * rules and stay inside `dir` (symlinks included), none of them (nor a parent directory) may be a symlink or submodule
 * in the commit checked out in `dir`, and `git apply --check` must accept it. Throws only on I/O trouble.
 */
export async function checkPatch(dir: string, diff: string): Promise<{ applies: boolean; error: string | null }> {
  try {
    await runGitApply(dir, diff, ['--check']);
    return { applies: true, error: null };
  } catch (err) {
    if (err instanceof PatchError) return { applies: false, error: err.message };
    throw err;
  }
}

/** Applies `diff` to the working tree in `dir` after the checks of checkPatch, all or nothing. Throws PatchError when refused. */
export async function applyPatch(dir: string, diff: string): Promise<void> {
  await runGitApply(dir, diff, []);
}

export interface CommitPatchOptions {
  /** The commit to apply on, usually the current HEAD. */
  ref: string;
  diff: string;
  /** A new branch, e.g. `lvlup/proposal-<short-id>`. */
  branch: string;
  message: string;
  /** Author and committer. */
  author: { name: string; email: string };
  /** Author and committer date (default now); fixed, it makes the commit id a function of its inputs. */
  date?: Date;
}

/**
 * Commits `diff` on top of `ref` in a temporary worktree and points the new branch `branch` at that commit; the
 * repository's checked-out branch, index and working tree are never touched (ARCHITECTURE §2). Throws PatchError for
 * an invalid or existing branch, a bad identity or a patch that does not apply.
 */
export async function commitPatchToBranch(
  repoPath: string,
  opts: CommitPatchOptions,
): Promise<{ commit: string; branch: string }> {
  const { branch } = opts;
  await assertNewBranch(repoPath, branch);
  const commit = await commitPatch(repoPath, opts);
  await createBranch(repoPath, branch, commit);
  return { commit, branch };
}

/**
 * Makes the commit of `diff` on top of `ref` without pointing any branch at it. With a fixed `date` the commit is
 * reproducible: the same parent, patch, message and identity give the same id in any clone, on any worker — which is
 * how two workers agree on a proposal's commit. No hook or signing runs (`commit-tree`). Throws PatchError for a bad
 * identity or message or a patch that does not apply.
 */
export async function commitPatch(repoPath: string, opts: Omit<CommitPatchOptions, 'branch'>): Promise<string> {
  const { author } = opts;
  if (opts.message.trim() === '') throw new PatchError('invalid_commit', 'the commit message is empty');
  // eslint-disable-next-line no-control-regex
  if ([author.name, author.email].some((v) => v.trim() === '' || /[<>\u0000-\u001f]/.test(v))) {
    throw new PatchError(
      'invalid_commit',
      `invalid commit author ${JSON.stringify(`${author.name} <${author.email}>`)}`,
    );
  }
  const when = `@${Math.floor((opts.date ?? new Date()).getTime() / 1000)} +0000`;
  const identity = {
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_AUTHOR_DATE: when,
    GIT_COMMITTER_NAME: author.name,
    GIT_COMMITTER_EMAIL: author.email,
    GIT_COMMITTER_DATE: when,
  };
  return withWorktree(
    repoPath,
    async (wt) => {
      // --index stages exactly the patch, even a file the target's .gitignore would make `git add -A` skip.
      await runGitApply(wt.dir, opts.diff, ['--index']);
      const tree = (await git(wt.dir, ['write-tree'])).trim();
      const settings = ['-c', 'commit.gpgsign=false', '-c', 'i18n.commitEncoding=UTF-8'];
      return (
        await git(
          wt.dir,
          [...settings, 'commit-tree', '--no-gpg-sign', tree, '-p', wt.baseCommit, '-m', opts.message],
          { env: identity },
        )
      ).trim();
    },
    opts.ref,
  );
}

/** Vets the diff for `dir`, then runs `git apply` with `extra` flags on it from a temporary file outside `dir`. */
async function runGitApply(dir: string, diff: string, extra: string[]): Promise<void> {
  const parsed = await vetDiff(dir, diff);
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'lvlup-patch-'));
  try {
    const file = path.join(tmp, 'change.patch');
    await writeFile(file, gitInput(diff), 'utf8');
    // No --recount: the parser already holds hunk counts to the letter, and git stays as strict.
    await git(dir, ['apply', '--whitespace=nowarn', `-p${parsed.pathPrefix === 'ab' ? 1 : 0}`, ...extra, file]);
  } catch (err) {
    const stderr = gitStderr(err);
    if (stderr === null) throw err;
    throw new PatchError('does_not_apply', stderr);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function vetDiff(dir: string, diff: string): Promise<ParsedDiff> {
  let parsed: ParsedDiff;
  try {
    parsed = parseUnifiedDiff(diff);
  } catch (err) {
    if (err instanceof DiffParseError) throw new PatchError('invalid_diff', err.message);
    throw err;
  }
  const problems = validateDiffPaths(parsed);
  if (problems.length > 0) throw new PatchError('unsafe_path', problems.join('; '));
  const paths = new Set(parsed.files.flatMap((f) => [f.oldPath, f.newPath]).filter((p): p is string => p !== null));
  for (const p of paths) {
    try {
      await resolveInside(dir, p);
    } catch (err) {
      if (err instanceof PathEscapeError)
        throw new PatchError(
          'unsafe_path',
          `path ${JSON.stringify(p)} leads outside the repository (through a symbolic link)`,
        );
      throw err;
    }
  }
  const special = await specialEntries(dir, [...paths]);
  if (special.length > 0) throw new PatchError('unsafe_path', special.join('; '));
  return parsed;
}

const SPECIAL_MODES: Record<string, string> = { '120000': 'a symbolic link', '160000': 'a submodule' };

/**
 * Problems for the paths (or their parent directories) that are symbolic links or submodules in the base tree — the
 * commit checked out in `dir` (`git ls-tree HEAD`), whatever mode lines the diff has or lacks: a diff without mode
 * lines can still retarget an existing symlink (its "content" is the target) or move a submodule's commit.
 */
async function specialEntries(dir: string, paths: string[]): Promise<string[]> {
  const asked = new Map<string, string>();
  for (const p of paths) {
    const parts = p.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (!asked.has(prefix)) asked.set(prefix, p);
    }
  }
  if (asked.size === 0) return [];
  const out = await git(dir, ['--literal-pathspecs', 'ls-tree', '-z', '--full-tree', 'HEAD', '--', ...asked.keys()]);
  const problems: string[] = [];
  for (const entry of out.split('\0')) {
    const tab = entry.indexOf('\t');
    if (tab < 0) continue;
    const mode = entry.slice(0, entry.indexOf(' '));
    const entryPath = entry.slice(tab + 1);
    const what = SPECIAL_MODES[mode];
    const touched = asked.get(entryPath);
    if (what === undefined || touched === undefined) continue;
    problems.push(
      touched === entryPath
        ? `path ${JSON.stringify(touched)}: is ${what} in the base commit; changes to symbolic links and submodules are not accepted`
        : `path ${JSON.stringify(touched)}: is inside ${JSON.stringify(entryPath)}, ${what} in the base commit`,
    );
  }
  return problems;
}

/** What git is given: LF line ends when the diff's own header lines came through as CRLF, and a final newline. */
function gitInput(diff: string): string {
  const text = /^(?:diff --git |--- |\+\+\+ |@@ ).*\r$/m.test(diff) ? diff.replace(/\r\n/g, '\n') : diff;
  return text.endsWith('\n') ? text : `${text}\n`;
}

/** git's stderr (trimmed, clipped) when git ran and refused; null when git itself could not run. */
function gitStderr(err: unknown): string | null {
  const cause = err instanceof Error ? (err.cause as { code?: unknown; stderr?: unknown } | undefined) : undefined;
  if (cause === undefined || typeof cause.code !== 'number') return null;
  const stderr =
    typeof cause.stderr === 'string' && cause.stderr.trim() !== ''
      ? cause.stderr.trim()
      : `git exited with code ${cause.code}`;
  return stderr.length > MAX_GIT_ERROR ? `${stderr.slice(0, MAX_GIT_ERROR - 3)}...` : stderr;
}

async function assertNewBranch(repoPath: string, branch: string): Promise<void> {
  const invalid = new PatchError('invalid_branch', `${JSON.stringify(branch)} is not a valid branch name`);
  if (branch.startsWith('-') || branch.includes('@{')) throw invalid;
  const checked = await git(repoPath, ['check-ref-format', '--branch', branch]).catch((err: unknown) => {
    if (gitStderr(err) === null) throw err;
    throw invalid;
  });
  if (checked.trim() !== branch) throw invalid;
  const refs = await git(repoPath, ['for-each-ref', '--format=%(refname)', `refs/heads/${branch}`]);
  if (refs.split('\n').includes(`refs/heads/${branch}`))
    throw new PatchError('branch_exists', `branch ${JSON.stringify(branch)} already exists`);
}

async function createBranch(repoPath: string, branch: string, commit: string): Promise<void> {
  try {
    await git(repoPath, ['branch', branch, commit]);
  } catch (err) {
    const stderr = gitStderr(err);
    if (stderr !== null && stderr.includes('already exists'))
      throw new PatchError('branch_exists', `branch ${JSON.stringify(branch)} already exists`);
    throw err;
  }
}
