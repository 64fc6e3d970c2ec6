import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/logger';
import { createSandbox } from '../../src/sandbox';
import { git, resolveTargetRepository, withWorktree } from '../../src/target';

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'lvlup-data-'));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

const target = { repoPath: undefined, testCmd: 'npm test', benchCmd: undefined };

it('makes a git repository of the example target under DATA_DIR once, leaving examples/ untouched', async () => {
  const first = await resolveTargetRepository({ target, dataDir });
  expect(first).toMatchObject({ path: path.join(dataDir, 'target'), example: true, benchCmd: 'node bench/run.js' });
  expect(existsSync(path.join(first.path, '.git'))).toBe(true);
  const commit = (await git(first.path, ['rev-parse', 'HEAD'])).trim();
  const again = await resolveTargetRepository({ target, dataDir });
  expect((await git(again.path, ['rev-parse', 'HEAD'])).trim()).toBe(commit);
  expect(existsSync(path.join(__dirname, '../../examples/target/.git'))).toBe(false);
});

it('makes one whole repository when several first runs ask at once (a cycle starts its children in parallel)', async () => {
  const fresh = await mkdtemp(path.join(os.tmpdir(), 'lvlup-data-'));
  try {
    const expected = (
      await readdir(path.join(__dirname, '../../examples/target'), { recursive: true, withFileTypes: true })
    ).filter((e) => e.isFile() && !e.parentPath.includes('node_modules')).length;
    const repos = await Promise.all([1, 2, 3, 4].map(() => resolveTargetRepository({ target, dataDir: fresh })));
    const dir = path.join(fresh, 'target');
    expect(new Set(repos.map((r) => r.path))).toEqual(new Set([dir]));
    const files = (await git(dir, ['ls-files'])).trim().split('\n');
    expect(files).toHaveLength(expected);
    expect(await git(dir, ['status', '--porcelain'])).toBe('');
    expect((await readdir(fresh)).filter((name) => name.includes('staging'))).toEqual([]);
  } finally {
    await rm(fresh, { recursive: true, force: true });
  }
});

it('refuses a TARGET_REPO_PATH that is not the top of a git repository', async () => {
  const plain = await mkdtemp(path.join(os.tmpdir(), 'lvlup-plain-'));
  try {
    await expect(resolveTargetRepository({ target: { ...target, repoPath: plain }, dataDir })).rejects.toThrow(
      /must be the top directory of a git repository/,
    );
    await expect(
      resolveTargetRepository({ target: { ...target, repoPath: path.join(plain, 'missing') }, dataDir }),
    ).rejects.toThrow(/does not exist/);
  } finally {
    await rm(plain, { recursive: true, force: true });
  }
});

it("runs the example target's own test suite in the sandbox, on a worktree", async () => {
  const repo = await resolveTargetRepository({ target, dataDir });
  const sandbox = await createSandbox({
    requireIsolation: false,
    logger: createLogger({ level: 'error', format: 'json' }),
  });
  const result = await withWorktree(repo.path, (wt) =>
    sandbox.run({ command: process.execPath, args: ['--test'], cwd: wt.dir, timeoutMs: 60_000 }),
  );
  expect(result).toMatchObject({ exitCode: 0, timedOut: false });
  expect(result.stdout).toMatch(/# fail 0/);
  expect(await git(repo.path, ['status', '--porcelain'])).toBe('');
});
