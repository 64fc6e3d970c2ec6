import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { applyPatch, checkPatch, commitPatchToBranch, diffHash, git, headCommit, PatchError, withWorktree } from '../../src/target';

let repo: string;
let outside: string;
const author = { name: 'Lvl_UP conquest', email: 'conquest@lvlup.local' };

const FIX = `diff --git a/src/a.js b/src/a.js
index 1111111..2222222 100644
--- a/src/a.js
+++ b/src/a.js
@@ -1,2 +1,2 @@
 // a
-exports.a = 1;
+exports.a = 2;
diff --git a/src/b.js b/src/b.js
new file mode 100644
--- /dev/null
+++ b/src/b.js
@@ -0,0 +1 @@
+exports.b = 1;
`;

beforeAll(async () => {
  repo = await mkdtemp(path.join(os.tmpdir(), 'lvlup-patches-test-'));
  outside = await mkdtemp(path.join(os.tmpdir(), 'lvlup-patches-outside-'));
  await git(repo, ['init', '-q', '-b', 'main']);
  await mkdir(path.join(repo, 'src'));
  await writeFile(path.join(repo, 'src', 'a.js'), '// a\nexports.a = 1;\n');
  await writeFile(path.join(repo, 'a.js'), 'root\n');
  await writeFile(path.join(repo, '.gitignore'), '*.log\n');
  await symlink(outside, path.join(repo, 'link'));
  await git(repo, ['add', '-A']);
  await git(repo, ['-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'init']);
});
afterAll(async () => {
  await rm(repo, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

describe('checkPatch', () => {
  it('accepts a diff that applies cleanly', async () => {
    expect(await checkPatch(repo, FIX)).toEqual({ applies: true, error: null });
    expect(await checkPatch(repo, FIX.replace(/\n/g, '\r\n').trimEnd())).toEqual({ applies: true, error: null });
  });

  it("refuses a diff whose context does not match, with git's message", async () => {
    const stale = FIX.replace('-exports.a = 1;', '-exports.a = 7;');
    const result = await checkPatch(repo, stale);
    expect(result.applies).toBe(false);
    expect(result.error).toMatch(/patch does not apply/);
    expect(result.error?.length).toBeLessThanOrEqual(2000);
  });

  it('refuses a path that leaves the repository through a committed symlink', async () => {
    const through = '--- /dev/null\n+++ b/link/x\n@@ -0,0 +1 @@\n+pwned\n';
    expect(await checkPatch(repo, through)).toEqual({ applies: false, error: 'path "link/x" leads outside the repository (through a symbolic link)' });
    await expect(applyPatch(repo, through)).rejects.toMatchObject({ code: 'unsafe_path' });
    expect(existsSync(path.join(outside, 'x'))).toBe(false);
  });

  it('refuses paths into .git and diffs that do not parse', async () => {
    const hook = '--- /dev/null\n+++ b/.git/hooks/pre-commit\n@@ -0,0 +1 @@\n+evil\n';
    expect(await checkPatch(repo, hook)).toEqual({ applies: false, error: 'path ".git/hooks/pre-commit": touches a .git directory' });
    expect((await checkPatch(repo, '--- a/src/a.js\n+++ b/src/a.js\n@@ -1,3 +1,3 @@\n-exports.a = 1;\n+exports.a = 2;\n')).error).toMatch(/hunk 1 .* promises 3 old and 3 new lines/);
  });
});

describe('applyPatch', () => {
  it('applies an unprefixed plain diff to the named file, not to a stripped path', async () => {
    await withWorktree(repo, async (wt) => {
      await applyPatch(wt.dir, '--- src/a.js\n+++ src/a.js\n@@ -2 +2 @@\n-exports.a = 1;\n+exports.a = 3;\n');
      expect(await wt.read('src/a.js')).toBe('// a\nexports.a = 3;\n');
      expect(await wt.read('a.js')).toBe('root\n');
    });
  });

  it('throws a PatchError and changes nothing when one hunk fails', async () => {
    await withWorktree(repo, async (wt) => {
      const broken = `${FIX}--- a/a.js\n+++ b/a.js\n@@ -1 +1 @@\n-nope\n+yes\n`;
      const err: unknown = await applyPatch(wt.dir, broken).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PatchError);
      expect(err).toMatchObject({ code: 'does_not_apply', message: expect.stringMatching(/a\.js/) });
      expect(await wt.read('src/a.js')).toBe('// a\nexports.a = 1;\n');
      expect(existsSync(path.join(wt.dir, 'src', 'b.js'))).toBe(false);
    });
  });
});

describe('commitPatchToBranch', () => {
  it('commits the change on a new branch and leaves the checked-out branch, index and tree untouched', async () => {
    const head = await headCommit(repo);
    await writeFile(path.join(repo, 'scratch.txt'), 'an operator is editing\n');
    const statusBefore = await git(repo, ['status', '--porcelain']);
    const diff = `${FIX}--- /dev/null\n+++ b/notes.log\n@@ -0,0 +1 @@\n+ignored by .gitignore but part of the patch\n`;

    const result = await commitPatchToBranch(repo, { ref: head, diff, branch: 'lvlup/proposal-abc12345', message: 'Set a to 2\n\nProposal abc12345', author });

    expect(result.branch).toBe('lvlup/proposal-abc12345');
    expect((await git(repo, ['rev-parse', 'refs/heads/lvlup/proposal-abc12345'])).trim()).toBe(result.commit);
    expect((await git(repo, ['rev-parse', `${result.commit}^`])).trim()).toBe(head);
    expect(await git(repo, ['show', `${result.commit}:src/a.js`])).toBe('// a\nexports.a = 2;\n');
    expect(await git(repo, ['show', `${result.commit}:src/b.js`])).toBe('exports.b = 1;\n');
    expect(await git(repo, ['show', `${result.commit}:notes.log`])).toContain('ignored by .gitignore');
    expect((await git(repo, ['log', '-1', '--format=%an <%ae>|%cn <%ce>|%s', result.commit])).trim()).toBe(
      'Lvl_UP conquest <conquest@lvlup.local>|Lvl_UP conquest <conquest@lvlup.local>|Set a to 2',
    );

    expect(await headCommit(repo)).toBe(head);
    expect((await git(repo, ['symbolic-ref', 'HEAD'])).trim()).toBe('refs/heads/main');
    expect(await git(repo, ['status', '--porcelain'])).toBe(statusBefore);
    expect(await readFile(path.join(repo, 'src', 'a.js'), 'utf8')).toBe('// a\nexports.a = 1;\n');
    expect((await git(repo, ['worktree', 'list'])).trim().split('\n')).toHaveLength(1);
    await rm(path.join(repo, 'scratch.txt'));
  });

  it('refuses a branch that already exists', async () => {
    const head = await headCommit(repo);
    await git(repo, ['branch', 'lvlup/proposal-taken', head]);
    const again = commitPatchToBranch(repo, { ref: head, diff: FIX, branch: 'lvlup/proposal-taken', message: 'again', author });
    await expect(again).rejects.toThrow('branch "lvlup/proposal-taken" already exists');
    await expect(again).rejects.toMatchObject({ code: 'branch_exists' });
    expect((await git(repo, ['rev-parse', 'lvlup/proposal-taken'])).trim()).toBe(head);
  });

  it.each(['bad..name', '-x', 'a b', 'lvlup/proposal-x.lock', '@{-1}'])('refuses the invalid branch name %j', async (branch) => {
    await expect(commitPatchToBranch(repo, { ref: 'HEAD', diff: FIX, branch, message: 'm', author })).rejects.toMatchObject({ code: 'invalid_branch' });
  });

  it('creates no branch when the patch does not apply', async () => {
    const stale = FIX.replace('-exports.a = 1;', '-exports.a = 7;');
    await expect(commitPatchToBranch(repo, { ref: 'HEAD', diff: stale, branch: 'lvlup/proposal-stale', message: 'm', author })).rejects.toMatchObject({
      code: 'does_not_apply',
    });
    expect(await git(repo, ['branch', '--list', 'lvlup/proposal-stale'])).toBe('');
  });
});

describe('diffHash', () => {
  it('is the same for diffs that differ only in line ends and git metadata, and differs for another change', () => {
    const bare = FIX.replace(/^(diff --git|index|new file mode) .*\n/gm, '');
    expect(diffHash(FIX)).toMatch(/^[0-9a-f]{64}$/);
    expect(diffHash(bare.replace(/\n/g, '\r\n'))).toBe(diffHash(FIX));
    expect(diffHash(FIX.replace('+exports.a = 2;', '+exports.a = 3;'))).not.toBe(diffHash(FIX));
  });
});
