import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  git,
  mirrorDir,
  openMirror,
  RemoteTargetError,
  resolveTargetRepository,
  withWorktree,
  type RemoteSpec,
} from '../../src/target';

let root: string;
let remote: string;
let seed: string;
let url: string;
const author = ['-c', 'user.name=dev', '-c', 'user.email=dev@example.com'];

/** Commits `file` with `text` in the seed clone and pushes it to the remote's `branch`; returns the commit. */
async function pushCommit(file: string, text: string, branch = 'main'): Promise<string> {
  await writeFile(path.join(seed, file), text);
  await git(seed, ['add', file]);
  await git(seed, [...author, 'commit', '-qm', `write ${file}`]);
  await git(seed, ['push', '-q', 'origin', `HEAD:refs/heads/${branch}`]);
  return (await git(seed, ['rev-parse', 'HEAD'])).trim();
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'lvlup-mirror-'));
  remote = path.join(root, 'remote.git');
  seed = path.join(root, 'seed');
  await git(root, ['init', '-q', '--bare', '-b', 'main', remote]);
  await git(root, ['init', '-q', '-b', 'main', seed]);
  await git(seed, ['remote', 'add', 'origin', remote]);
  await pushCommit('README.md', 'first\n');
  url = `file://${remote}`;
});
afterAll(() => rm(root, { recursive: true, force: true }));

const spec = (over: Partial<RemoteSpec> = {}): RemoteSpec => ({ url, fetchMinIntervalSeconds: 0, ...over });
const head = async (dir: string) => (await git(dir, ['rev-parse', 'HEAD'])).trim();

it('clones a mirror under DATA_DIR on first use and fetches new commits before the next piece of work', async () => {
  const dataDir = await mkdtemp(path.join(root, 'data-'));
  const target = await resolveTargetRepository({
    dataDir,
    target: {
      repoPath: undefined,
      testCmd: 'npm test',
      benchCmd: undefined,
      remote: { ...spec(), branch: undefined, sshCommand: undefined },
    },
  });
  expect(target).toMatchObject({
    path: mirrorDir(dataDir, url),
    key: url,
    name: 'remote',
    example: false,
    remote: { url, dir: mirrorDir(dataDir, url) },
  });
  expect(await git(target.path, ['rev-parse', '--is-bare-repository'])).toBe('true\n');
  expect(await head(target.path)).toBe(await head(seed));
  expect(await readdir(path.join(dataDir, 'mirrors'))).toEqual([path.basename(target.path)]);

  const next = await pushCommit('src.js', 'module.exports = 1;\n');
  const again = await openMirror(dataDir, spec(), null);
  expect(await head(again.dir)).toBe(next);
  // Worktrees come from the bare mirror like from a checkout.
  expect(await withWorktree(again.dir, (wt) => wt.read('src.js'))).toBe('module.exports = 1;\n');
  expect((await git(again.dir, ['worktree', 'list'])).trim().split('\n')).toHaveLength(1);
});

it('does not fetch again within the minimum interval unless asked, and runs one clone for concurrent callers', async () => {
  const dataDir = await mkdtemp(path.join(root, 'data-'));
  const [a, b, c] = await Promise.all(
    [1, 2, 3].map(() => openMirror(dataDir, spec({ fetchMinIntervalSeconds: 3600 }), null)),
  );
  expect(new Set([a?.dir, b?.dir, c?.dir]).size).toBe(1);
  expect(await readdir(path.join(dataDir, 'mirrors'))).toHaveLength(1);

  const next = await pushCommit('later.txt', 'later\n');
  const cached = await openMirror(dataDir, spec({ fetchMinIntervalSeconds: 3600 }), null);
  expect(await head(cached.dir)).not.toBe(next);
  await cached.fetch();
  expect(await head(cached.dir)).toBe(next);
});

it('works on TARGET_REPO_BRANCH, and says clearly when the remote has no such branch', async () => {
  const dataDir = await mkdtemp(path.join(root, 'data-'));
  const onMain = await head(seed);
  const release = await pushCommit('release.txt', 'r\n', 'release/1.x');
  await git(seed, ['reset', '-q', '--hard', onMain]);
  const mirror = await openMirror(dataDir, spec({ branch: 'release/1.x' }), null);
  expect(await head(mirror.dir)).toBe(release);
  expect((await git(mirror.dir, ['symbolic-ref', 'HEAD'])).trim()).toBe('refs/heads/release/1.x');
  const missing = openMirror(dataDir, spec({ branch: 'nope' }), null);
  await expect(missing).rejects.toBeInstanceOf(RemoteTargetError);
  await expect(missing).rejects.toThrow('TARGET_REPO_BRANCH nope does not exist on the remote');
});

it('creates a branch on the remote only where it is absent: created, same, or rejected', async () => {
  const mirror = await openMirror(await mkdtemp(path.join(root, 'data-')), spec(), null);
  const base = await head(mirror.dir);
  const other = await pushCommit('other.txt', 'other\n', 'scratch');
  expect(await mirror.pushNewBranch('lvlup/proposal-aaaa1111', base)).toBe('created');
  expect((await git(remote, ['rev-parse', 'refs/heads/lvlup/proposal-aaaa1111'])).trim()).toBe(base);
  expect(await mirror.pushNewBranch('lvlup/proposal-aaaa1111', base)).toBe('same');
  await mirror.fetch();
  expect(await mirror.pushNewBranch('lvlup/proposal-aaaa1111', other)).toBe('rejected');
  // Not even a fast-forward: the lease expects the branch absent.
  await git(remote, ['update-ref', 'refs/heads/lvlup/proposal-bbbb2222', base]);
  expect(await mirror.pushNewBranch('lvlup/proposal-bbbb2222', other)).toBe('rejected');
  expect((await git(remote, ['rev-parse', 'refs/heads/lvlup/proposal-bbbb2222'])).trim()).toBe(base);
});

it('leaves no staging directory behind when the remote cannot be cloned', async () => {
  const dataDir = await mkdtemp(path.join(root, 'data-'));
  await expect(openMirror(dataDir, spec({ url: `file://${root}/missing.git` }), null)).rejects.toThrow(
    /git clone failed/,
  );
  expect(await readdir(path.join(dataDir, 'mirrors'))).toEqual([]);
  expect(existsSync(mirrorDir(dataDir, `file://${root}/missing.git`))).toBe(false);
});
