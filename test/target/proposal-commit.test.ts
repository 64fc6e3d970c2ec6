import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { commitPatch, git } from '../../src/target';
import { matchExistingCommit, type ChangeSpec } from '../../src/target/proposal-commit';

let root: string;
let origin: string;
const DIFF = `--- a/src/a.js\n+++ b/src/a.js\n@@ -1,2 +1,2 @@\n // a\n-exports.a = 1;\n+exports.a = 2;\n`;
const spec: ChangeSpec = {
  diff: DIFF,
  message: 'Set a to 2\n\nLvl_UP proposal x.',
  author: { name: 'Lvl_UP conquest', email: 'conquest@lvlup.invalid' },
  date: new Date('2025-03-04T05:06:07Z'),
};

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'lvlup-commit-'));
  origin = path.join(root, 'origin');
  await mkdir(path.join(origin, 'src'), { recursive: true });
  await writeFile(path.join(origin, 'src', 'a.js'), '// a\nexports.a = 1;\n');
  await git(origin, ['init', '-q', '-b', 'main']);
  await git(origin, ['add', '-A']);
  await git(origin, ['-c', 'user.name=dev', '-c', 'user.email=dev@example.com', 'commit', '-qm', 'init']);
});
afterAll(() => rm(root, { recursive: true, force: true }));

async function clone(name: string): Promise<string> {
  const dir = path.join(root, name);
  await git(root, ['clone', '-q', '--bare', origin, dir]);
  return dir;
}

it('makes the same commit id from the same inputs in two clones at different times', async () => {
  const [a, b] = [await clone('a.git'), await clone('b.git')];
  const first = await commitPatch(a, { ...spec, ref: 'HEAD' });
  await new Promise((r) => setTimeout(r, 1100));
  const second = await commitPatch(b, { ...spec, ref: 'HEAD' });
  expect(second).toBe(first);
  expect((await git(a, ['log', '-1', '--format=%an <%ae> %aI|%cn <%ce> %cI', first])).trim()).toBe(
    'Lvl_UP conquest <conquest@lvlup.invalid> 2025-03-04T05:06:07+00:00|Lvl_UP conquest <conquest@lvlup.invalid> 2025-03-04T05:06:07+00:00',
  );
});

it('recognises this change on a branch by commit, or by tree on the same parent, and refuses anything else with the reason', async () => {
  const repo = await clone('c.git');
  const ours = await commitPatch(repo, { ...spec, ref: 'HEAD' });
  expect(await matchExistingCommit(repo, 'lvlup/proposal-x', ours, spec)).toEqual({ same: true, how: 'same_commit' });

  const reworded = await commitPatch(repo, { ...spec, ref: 'HEAD', message: 'Someone else wrote this message' });
  expect(await matchExistingCommit(repo, 'lvlup/proposal-x', reworded, spec)).toEqual({ same: true, how: 'same_tree' });

  const different = await commitPatch(repo, {
    ...spec,
    ref: 'HEAD',
    diff: DIFF.replace('exports.a = 2;', 'exports.a = 3;'),
  });
  expect(await matchExistingCommit(repo, 'lvlup/proposal-x', different, spec)).toEqual({
    same: false,
    reason: expect.stringMatching(
      new RegExp(`^branch lvlup/proposal-x already exists at ${different.slice(0, 12)} with different content`),
    ),
  });

  // A branch on a commit where the patch cannot apply (here: the patched commit itself).
  const stacked = await commitPatch(repo, {
    ...spec,
    ref: ours,
    diff: `--- /dev/null\n+++ b/b.js\n@@ -0,0 +1 @@\n+b\n`,
  });
  expect(await matchExistingCommit(repo, 'lvlup/proposal-x', stacked, spec)).toEqual({
    same: false,
    reason: expect.stringMatching(/where this proposal's patch does not apply/),
  });
});
