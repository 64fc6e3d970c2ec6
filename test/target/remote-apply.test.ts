import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import { applyProposal } from '../../activities/proposals/apply';
import { runTarget } from '../../activities/runs.activities';
import type { Config } from '../../src/config';
import { proposalBranch } from '../../src/contracts';
import { Agent, Proposal, Repository } from '../../src/db/entities';
import { git } from '../../src/target';
import { testConfig } from '../helpers/config';
import { seedProposal } from '../helpers/seed';
import { useLlmTestBed } from '../helpers/llm';

jest.setTimeout(60_000);

const bed = useLlmTestBed();
const em = () => bed.orm.em.fork() as EntityManager;
let root: string;
let remote: string;
let seed: string;
const DIFF = `--- a/src/a.js\n+++ b/src/a.js\n@@ -1,2 +1,2 @@\n // a\n-exports.a = 1;\n+exports.a = 2;\n`;
const dev = ['-c', 'user.name=dev', '-c', 'user.email=dev@example.com'];

/** A worker's config: its own DATA_DIR, the shared remote, a fetch before every piece of work. */
async function worker(): Promise<Config> {
  return testConfig(bed.db.url, {
    DATA_DIR: await mkdtemp(path.join(root, 'worker-')),
    TARGET_REPO_URL: `file://${remote}`,
    TARGET_FETCH_MIN_INTERVAL_SECONDS: '0',
  });
}
const apply = (config: Config, id: string) => applyProposal({ orm: bed.orm, config }, id);
const remoteRef = async (branch: string) =>
  (await git(remote, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`]).catch(() => '')).trim();

async function approvedProposal(diff = DIFF): Promise<Proposal> {
  const p = await seedProposal(em(), {
    agentId: 'conquest',
    status: 'applying',
    completedAt: null,
    review: { decision: 'approve', at: new Date('2025-05-06T07:08:09Z') },
  });
  await em().nativeUpdate(Proposal, { id: p.id }, { diff, title: 'Set a to 2', rationale: 'Two is better.' });
  return p;
}

async function pushToMain(file: string, text: string): Promise<void> {
  await writeFile(path.join(seed, file), text);
  await git(seed, ['add', file]);
  await git(seed, [...dev, 'commit', '-qm', `write ${file}`]);
  await git(seed, ['push', '-q', 'origin', 'HEAD:refs/heads/main']);
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'lvlup-remote-apply-'));
  remote = path.join(root, 'remote.git');
  seed = path.join(root, 'seed');
  await git(root, ['init', '-q', '--bare', '-b', 'main', remote]);
  await mkdir(path.join(seed, 'src'), { recursive: true });
  await git(seed, ['init', '-q', '-b', 'main']);
  await git(seed, ['remote', 'add', 'origin', remote]);
  await pushToMain('src/a.js', '// a\nexports.a = 1;\n');
  await em().nativeUpdate(Agent, {}, { status: 'active', lastPassedAt: new Date(), consecutiveFailures: 0 });
});
afterAll(() => rm(root, { recursive: true, force: true }));

it('keys the repositories row on the remote URL and works on a mirror of it', async () => {
  const config = await worker();
  const { target, repo } = await runTarget(bed.orm, config);
  expect(repo).toMatchObject({ path: `file://${remote}`, name: 'remote' });
  expect(await em().count(Repository, { path: `file://${remote}` })).toBe(1);
  expect(target.path.startsWith(path.join(config.dataDir, 'mirrors'))).toBe(true);
});

it('pushes an approved proposal to its branch on the remote, and a retry whose record was lost adopts that same commit', async () => {
  const p = await approvedProposal();
  const branch = proposalBranch(p.id);
  const a = await worker();
  const first = await apply(a, p.id);
  expect(first).toEqual({ ok: true, commit: expect.stringMatching(/^[0-9a-f]{40}$/), branch });
  expect(await remoteRef(branch)).toBe(first.commit);
  expect(await git(remote, ['show', `${branch}:src/a.js`])).toBe('// a\nexports.a = 2;\n');
  expect((await git(remote, ['rev-parse', 'refs/heads/main'])).trim()).toBe(
    (await git(remote, ['rev-parse', `${branch}^`])).trim(),
  );

  // The push happened but the record did not; meanwhile main moved on. Another worker, with its own mirror, retries.
  await em().nativeUpdate(Proposal, { id: p.id }, { commit: null, branch: null });
  await pushToMain('NEWS.md', 'news\n');
  const b = await worker();
  expect(await apply(b, p.id)).toEqual({ ok: true, commit: first.commit, branch });
  expect(await remoteRef(branch)).toBe(first.commit);
  expect(await git(remote, ['rev-list', '--count', `refs/heads/${branch}`, '--not', `${first.commit}^`])).toBe('1\n');
  expect(await em().findOneOrFail(Proposal, { id: p.id })).toMatchObject({ commit: first.commit, branch });
});

it('lets two workers apply the same proposal at once and agree on one branch with one commit', async () => {
  const p = await approvedProposal();
  const [a, b] = [await worker(), await worker()];
  const [ra, rb] = await Promise.all([apply(a, p.id), apply(b, p.id)]);
  expect(ra).toMatchObject({ ok: true });
  expect(rb).toEqual(ra);
  expect(await remoteRef(proposalBranch(p.id))).toBe(ra.commit);
});

it('fails the apply with the reason when the remote branch already holds a different commit, and leaves it alone', async () => {
  const p = await approvedProposal();
  const branch = proposalBranch(p.id);
  const main = (await git(remote, ['rev-parse', 'refs/heads/main'])).trim();
  await git(seed, ['checkout', '-q', '-b', 'squatter', main]);
  await writeFile(path.join(seed, 'src', 'a.js'), '// a\nexports.a = 99;\n');
  await git(seed, [...dev, 'commit', '-qam', 'someone else']);
  const theirs = (await git(seed, ['rev-parse', 'HEAD'])).trim();
  await git(seed, ['push', '-q', 'origin', `HEAD:refs/heads/${branch}`]);
  await git(seed, ['checkout', '-q', 'main']);

  const result = await apply(await worker(), p.id);
  expect(result).toEqual({
    ok: false,
    reason: `branch ${branch} already exists at ${theirs.slice(0, 12)} with different content than this proposal's change on ${main.slice(0, 12)}`,
  });
  expect(await remoteRef(branch)).toBe(theirs);
  expect(await em().findOneOrFail(Proposal, { id: p.id })).toMatchObject({ commit: null, branch: null });
});

it('fails the apply when the patch no longer applies to the remote head', async () => {
  const p = await approvedProposal(DIFF.replace('-exports.a = 1;', '-exports.a = 7;'));
  expect(await apply(await worker(), p.id)).toEqual({
    ok: false,
    reason: expect.stringMatching(/no longer applies to the current head/),
  });
  expect(await remoteRef(proposalBranch(p.id))).toBe('');
});
