import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  applyPatch,
  checkPatch,
  commitPatch,
  commitPatchToBranch,
  diffHash,
  git,
  headCommit,
  PatchError,
  withWorktree,
} from '../../src/target';

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
    expect(await checkPatch(repo, through)).toEqual({
      applies: false,
      error: 'path "link/x" leads outside the repository (through a symbolic link)',
    });
    await expect(applyPatch(repo, through)).rejects.toMatchObject({ code: 'unsafe_path' });
    expect(existsSync(path.join(outside, 'x'))).toBe(false);
  });

  it('refuses paths into .git and diffs that do not parse', async () => {
    const hook = '--- /dev/null\n+++ b/.git/hooks/pre-commit\n@@ -0,0 +1 @@\n+evil\n';
    expect(await checkPatch(repo, hook)).toEqual({
      applies: false,
      error: 'path ".git/hooks/pre-commit": touches a .git directory',
    });
    expect(
      (await checkPatch(repo, '--- a/src/a.js\n+++ b/src/a.js\n@@ -1,3 +1,3 @@\n-exports.a = 1;\n+exports.a = 2;\n'))
        .error,
    ).toMatch(/hunk 1 .* promises 3 old and 3 new lines/);
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

    const result = await commitPatchToBranch(repo, {
      ref: head,
      diff,
      branch: 'lvlup/proposal-abc12345',
      message: 'Set a to 2\n\nProposal abc12345',
      author,
    });

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
    const again = commitPatchToBranch(repo, {
      ref: head,
      diff: FIX,
      branch: 'lvlup/proposal-taken',
      message: 'again',
      author,
    });
    await expect(again).rejects.toThrow('branch "lvlup/proposal-taken" already exists');
    await expect(again).rejects.toMatchObject({ code: 'branch_exists' });
    expect((await git(repo, ['rev-parse', 'lvlup/proposal-taken'])).trim()).toBe(head);
  });

  it.each(['bad..name', '-x', 'a b', 'lvlup/proposal-x.lock', '@{-1}'])(
    'refuses the invalid branch name %j',
    async (branch) => {
      await expect(
        commitPatchToBranch(repo, { ref: 'HEAD', diff: FIX, branch, message: 'm', author }),
      ).rejects.toMatchObject({ code: 'invalid_branch' });
    },
  );

  it('creates no branch when the patch does not apply', async () => {
    const stale = FIX.replace('-exports.a = 1;', '-exports.a = 7;');
    await expect(
      commitPatchToBranch(repo, { ref: 'HEAD', diff: stale, branch: 'lvlup/proposal-stale', message: 'm', author }),
    ).rejects.toMatchObject({
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

describe('symbolic links and submodules of the base tree', () => {
  let base: string;
  const SUB_OLD = '1'.repeat(40);
  const SUB_NEW = '2'.repeat(40);

  beforeAll(async () => {
    base = await mkdtemp(path.join(os.tmpdir(), 'lvlup-patches-links-'));
    await git(base, ['init', '-q', '-b', 'main']);
    await mkdir(path.join(base, 'docs'));
    await mkdir(path.join(base, 'src'));
    await writeFile(path.join(base, 'docs', 'a.md'), 'a\n');
    await writeFile(path.join(base, 'src', 'x.js'), 'x\n');
    await symlink('a.md', path.join(base, 'docs', 'current')); // inside the repository: no escape to catch
    await symlink('src', path.join(base, 'code'));
    await git(base, ['add', '-A']);
    await git(base, ['update-index', '--add', '--cacheinfo', `160000,${SUB_OLD},vendor/lib`]);
    await git(base, ['-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'init']);
  });
  afterAll(() => rm(base, { recursive: true, force: true }));

  // A symlink's content is its target: this diff, with no mode line, retargets docs/current at /etc/passwd.
  const RETARGET = `diff --git a/docs/current b/docs/current
index 1111111..2222222 120000
--- a/docs/current
+++ b/docs/current
@@ -1 +1 @@
-a.md
\\ No newline at end of file
+/etc/passwd
\\ No newline at end of file
`;
  const SUBMODULE = `diff --git a/vendor/lib b/vendor/lib
index ${SUB_OLD.slice(0, 7)}..${SUB_NEW.slice(0, 7)} 160000
--- a/vendor/lib
+++ b/vendor/lib
@@ -1 +1 @@
-Subproject commit ${SUB_OLD}
+Subproject commit ${SUB_NEW}
`;
  const refusal = (p: string, what: string) =>
    `path "${p}": is ${what} in the base commit; changes to symbolic links and submodules are not accepted`;

  it('refuses to retarget an existing symlink by a diff without mode lines, and commits nothing', async () => {
    expect(await checkPatch(base, RETARGET)).toEqual({
      applies: false,
      error: refusal('docs/current', 'a symbolic link'),
    });
    await expect(commitPatch(base, { ref: 'HEAD', diff: RETARGET, message: 'retarget', author })).rejects.toMatchObject(
      { code: 'unsafe_path' },
    );
    // Without the index line either: the base tree decides, not what the diff says.
    expect(await checkPatch(base, RETARGET.replace(/^index .*\n/m, ''))).toEqual({
      applies: false,
      error: refusal('docs/current', 'a symbolic link'),
    });
  });

  it('refuses to delete an existing symlink or replace it with a file', async () => {
    const remove =
      'diff --git a/docs/current b/docs/current\ndeleted file mode 120000\n--- a/docs/current\n+++ /dev/null\n@@ -1 +0,0 @@\n-a.md\n\\ No newline at end of file\n';
    expect(await checkPatch(base, remove)).toEqual({
      applies: false,
      error: refusal('docs/current', 'a symbolic link'),
    });
  });

  it('refuses to move a submodule to another commit', async () => {
    expect(await checkPatch(base, SUBMODULE)).toEqual({ applies: false, error: refusal('vendor/lib', 'a submodule') });
    await expect(commitPatch(base, { ref: 'HEAD', diff: SUBMODULE, message: 'bump', author })).rejects.toMatchObject({
      code: 'unsafe_path',
    });
  });

  it('refuses a file written through a symlinked directory or into a submodule', async () => {
    const through = '--- /dev/null\n+++ b/code/y.js\n@@ -0,0 +1 @@\n+y\n';
    expect(await checkPatch(base, through)).toEqual({
      applies: false,
      error: 'path "code/y.js": is inside "code", a symbolic link in the base commit',
    });
    const inside = '--- /dev/null\n+++ b/vendor/lib/z.js\n@@ -0,0 +1 @@\n+z\n';
    expect(await checkPatch(base, inside)).toEqual({
      applies: false,
      error: 'path "vendor/lib/z.js": is inside "vendor/lib", a submodule in the base commit',
    });
  });

  it('refuses new symlinks and submodules, and still accepts an ordinary change beside them', async () => {
    const newLink =
      'diff --git a/docs/new b/docs/new\nnew file mode 120000\n--- /dev/null\n+++ b/docs/new\n@@ -0,0 +1 @@\n+/etc/shadow\n\\ No newline at end of file\n';
    expect((await checkPatch(base, newLink)).error).toBe('path "docs/new": symbolic links are not accepted');
    const newSub = `diff --git a/vendor/other b/vendor/other\nnew file mode 160000\n--- /dev/null\n+++ b/vendor/other\n@@ -0,0 +1 @@\n+Subproject commit ${SUB_NEW}\n`;
    expect((await checkPatch(base, newSub)).error).toBe('path "vendor/other": submodules are not accepted');
    const ordinary = '--- a/src/x.js\n+++ b/src/x.js\n@@ -1 +1 @@\n-x\n+x2\n';
    expect(await checkPatch(base, ordinary)).toEqual({ applies: true, error: null });
    const commit = await commitPatch(base, { ref: 'HEAD', diff: ordinary, message: 'x2', author });
    expect(await git(base, ['show', `${commit}:src/x.js`])).toBe('x2\n');
  });
});
