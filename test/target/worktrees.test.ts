import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { git, PathEscapeError, resolveInside, withWorktree } from '../../src/target';

let repo: string;
let outside: string;

beforeAll(async () => {
  repo = await mkdtemp(path.join(os.tmpdir(), 'lvlup-target-test-'));
  outside = await mkdtemp(path.join(os.tmpdir(), 'lvlup-outside-'));
  await git(repo, ['init', '-q', '-b', 'main']);
  await writeFile(path.join(repo, 'index.js'), 'module.exports = 1;\n');
  await mkdir(path.join(repo, 'src'));
  await writeFile(path.join(repo, 'src', 'a.js'), 'exports.a = 1;\n');
  await symlink(outside, path.join(repo, 'escape'));
  await git(repo, ['add', '-A']);
  await git(repo, ['-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'init']);
  // A hook is target-controlled code: git must never run it outside the sandbox.
  await writeFile(
    path.join(repo, '.git', 'hooks', 'post-checkout'),
    `#!/bin/sh\ntouch ${path.join(outside, 'hook-ran')}\n`,
  );
  await chmod(path.join(repo, '.git', 'hooks', 'post-checkout'), 0o755);
});
afterAll(async () => {
  await rm(repo, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

it('works in a temporary worktree, gives its diff, and leaves the checked-out branch and tree untouched', async () => {
  const headBefore = (await git(repo, ['rev-parse', 'HEAD'])).trim();
  let dir = '';
  const diff = await withWorktree(repo, async (wt) => {
    dir = wt.dir;
    expect(await wt.read('src/a.js')).toBe('exports.a = 1;\n');
    await writeFile(path.join(wt.dir, 'src', 'a.js'), 'exports.a = 2;\n');
    await writeFile(path.join(wt.dir, 'new.js'), 'new\n');
    return wt.diff();
  });
  expect(diff).toContain('-exports.a = 1;');
  expect(diff).toContain('+exports.a = 2;');
  expect(diff).toContain('+++ b/new.js');
  expect(existsSync(dir)).toBe(false);
  expect((await git(repo, ['rev-parse', 'HEAD'])).trim()).toBe(headBefore);
  expect(await git(repo, ['status', '--porcelain'])).toBe('');
  expect(await readFile(path.join(repo, 'src', 'a.js'), 'utf8')).toBe('exports.a = 1;\n');
  expect((await git(repo, ['worktree', 'list'])).trim().split('\n')).toHaveLength(1);
  expect(existsSync(path.join(outside, 'hook-ran'))).toBe(false);
});

it('removes the worktree even when the work fails', async () => {
  let dir = '';
  await expect(
    withWorktree(repo, async (wt) => {
      dir = wt.dir;
      throw new Error('boom');
    }),
  ).rejects.toThrow('boom');
  expect(existsSync(dir)).toBe(false);
});

it.each(['../etc/passwd', '/etc/passwd', 'src/../../x', 'escape/file', 'escape'])(
  'refuses the path %s that leaves the repository',
  async (p) => {
    await expect(resolveInside(repo, p)).rejects.toBeInstanceOf(PathEscapeError);
  },
);

it('resolves paths inside the repository, existing or not', async () => {
  expect(await resolveInside(repo, 'src/a.js')).toMatch(/src\/a\.js$/);
  expect(await resolveInside(repo, 'src/not-yet/b.js')).toMatch(/src\/not-yet\/b\.js$/);
});
