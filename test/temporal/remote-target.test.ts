import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  agentRunWorkflowId,
  GUARDIAN_SCAN_WORKFLOW,
  PROPOSAL_WORKFLOW,
  proposalBranch,
  proposalWorkflowId,
  reviewUpdate,
  type AgentRunInput,
  type GuardianScanResult,
  type ProposalInput,
  type ProposalResult,
} from '../../src/contracts';
import type { Config } from '../../src/config';
import { Agent, AgentRun, Finding, Proposal, Repository } from '../../src/db/entities';
import { EXAMPLE_TARGET_DIR, git } from '../../src/target';
import { testConfig } from '../helpers/config';
import { signedReview } from '../helpers/proposals';
import { useLlmTestBed } from '../helpers/llm';
import { createTestWorker, type TestWorker } from '../helpers/worker';

/** The agents on a remote target (TARGET_REPO_URL, a bare repository reached through file://), on real Temporal. */

jest.setTimeout(180_000);

const bed = useLlmTestBed();
const em = () => bed.orm.em.fork() as EntityManager;
let root: string;
let remote: string;
let seed: string;
let config: Config;
let worker: TestWorker;
const dev = ['-c', 'user.name=dev', '-c', 'user.email=dev@example.com'];
const remoteHead = async (ref = 'refs/heads/main') => (await git(remote, ['rev-parse', ref])).trim();

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'lvlup-remote-target-'));
  remote = path.join(root, 'remote.git');
  seed = path.join(root, 'seed');
  await git(root, ['init', '-q', '--bare', '-b', 'main', remote]);
  await cp(EXAMPLE_TARGET_DIR, seed, { recursive: true, filter: (src) => !src.includes(`${path.sep}node_modules`) });
  await git(seed, ['init', '-q', '-b', 'main']);
  await git(seed, ['add', '-A']);
  await git(seed, [...dev, 'commit', '-qm', 'example target']);
  await git(seed, ['push', '-q', remote, 'HEAD:refs/heads/main']);
  config = testConfig(
    bed.db.url,
    bed.fakes.env({
      LLM_PROFILE_FALLBACK: '',
      ANTHROPIC_API_KEY: '',
      DATA_DIR: path.join(root, 'data'),
      TARGET_REPO_URL: `file://${remote}`,
      TARGET_FETCH_MIN_INTERVAL_SECONDS: '0',
    }),
  );
  worker = await createTestWorker(config, bed.orm, { workflowsPath: require.resolve('../../workflows') });
  worker.start();
  await em().nativeUpdate(Agent, {}, { status: 'active', lastPassedAt: new Date(), consecutiveFailures: 0 });
});
afterAll(async () => {
  await worker.close();
  await rm(root, { recursive: true, force: true });
});

async function scan(): Promise<GuardianScanResult> {
  bed.fakes.reset();
  bed.fakes.openai.when('You are Guardian', { json: { findings: [] } });
  const input: AgentRunInput = { trigger: 'api', timeouts: { scanMs: 120_000, llmMs: 10_000, dbMs: 10_000 } };
  return worker.client.workflow.execute(GUARDIAN_SCAN_WORKFLOW, {
    args: [input],
    taskQueue: worker.taskQueue,
    workflowId: agentRunWorkflowId('guardian-scan', randomUUID()),
  });
}

it('scans the remote at its current head, and a commit pushed to the remote before the next scan', async () => {
  const first = await scan();
  expect(first).toMatchObject({ status: 'completed' });
  const run = await em().findOneOrFail(AgentRun, { id: first.runId });
  expect(run.commit).toBe(await remoteHead());
  const repo = await em().findOneOrFail(Repository, { id: run.repositoryId ?? '' });
  expect(repo).toMatchObject({ path: `file://${remote}`, name: 'remote' });
  expect(
    await em().count(Finding, {
      rule: 'lvlup/sql-concatenation',
      file: 'src/users.js',
      status: 'open',
      repositoryId: repo.id,
    }),
  ).toBeGreaterThanOrEqual(1);

  // A developer pushes to the remote; the worker's mirror fetches it before the next scan.
  await writeFile(path.join(seed, 'NOTES.md'), 'notes\n');
  await git(seed, ['add', 'NOTES.md']);
  await git(seed, [...dev, 'commit', '-qm', 'notes']);
  await git(seed, ['push', '-q', remote, 'HEAD:refs/heads/main']);
  const second = await scan();
  expect(second).toMatchObject({ status: 'completed', findings: { new: 0 } });
  expect((await em().findOneOrFail(AgentRun, { id: second.runId })).commit).toBe(
    (await git(seed, ['rev-parse', 'HEAD'])).trim(),
  );
});

it('takes an approved proposal to a commit pushed to its branch on the remote, leaving the remote main alone', async () => {
  const diff = `--- a/src/format.js\n+++ b/src/format.js\n`;
  const source = await readFile(path.join(seed, 'src', 'format.js'), 'utf8');
  const [first, second] = source.split('\n');
  const change = `${diff}@@ -1,2 +1,3 @@\n ${first ?? ''}\n+// Reviewed by Lvl_UP.\n ${second ?? ''}\n`;
  bed.fakes.reset();
  bed.fakes.openai.when('Review this proposed diff', { json: { summary: 'Looks safe.', concerns: [] } });
  bed.fakes.openai.when('Propose one small, safe change', {
    json: { title: 'Mark format.js reviewed', rationale: 'A note.', risk: 'None.', diff: change },
  });
  const id = randomUUID();
  const input: ProposalInput = {
    proposalId: id,
    agentId: 'guardian',
    goal: 'Note the review',
    trigger: 'api',
    requestedBy: 'test',
    timeouts: { llmMs: 15_000, scanMs: 120_000, dbMs: 10_000 },
  };
  const handle = await worker.client.workflow.start(PROPOSAL_WORKFLOW, {
    args: [input],
    taskQueue: worker.taskQueue,
    workflowId: proposalWorkflowId(id),
  });
  for (let i = 0; i < 600; i++) {
    const p = await em().findOne(Proposal, { id });
    if (p?.status === 'awaiting_review') break;
    if (p?.completedAt) throw new Error(`the proposal ended ${p.status}: ${p.error} ${JSON.stringify(p.validation)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const mainBefore = await remoteHead();

  const outcome = await handle.executeUpdate(reviewUpdate, {
    args: [signedReview(config, id, { decision: 'approve', reviewer: 'ops', comment: 'ok' })],
  });
  expect(outcome).toMatchObject({ status: 'applied', branch: proposalBranch(id) });
  expect(await handle.result()).toMatchObject<Partial<ProposalResult>>({ status: 'applied' });
  const p = await em().findOneOrFail(Proposal, { id });
  expect(await remoteHead(`refs/heads/${proposalBranch(id)}`)).toBe(p.commit);
  expect((await git(remote, ['rev-parse', `${proposalBranch(id)}^`])).trim()).toBe(mainBefore);
  expect(await git(remote, ['show', `${proposalBranch(id)}:src/format.js`])).toContain('// Reviewed by Lvl_UP.');
  expect(await remoteHead()).toBe(mainBefore);
});
