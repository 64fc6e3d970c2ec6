import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  PROPOSAL_WORKFLOW,
  progressQuery,
  proposalBranch,
  proposalWorkflowId,
  type ProposalInput,
  type ProposalResult,
} from '../../src/contracts';
import {
  Agent,
  Finding,
  KnowledgeNote,
  Notification,
  Proposal,
  ProposalEvent,
  type ProposalState,
} from '../../src/db/entities';
import type { Config } from '../../src/config';
import { git } from '../../src/target';
import { runTarget } from '../../activities/runs.activities';
import { beginProposal } from '../../activities/proposals/lifecycle';
import type { FakeReply } from '../fakes/llm-servers';
import { startTestApi, type TestApi } from '../helpers/api';
import { testConfig } from '../helpers/config';
import { recordHistory } from '../helpers/histories';
import { untrustedContent, useLlmTestBed } from '../helpers/llm';
import { exampleTargetFix, proposalReaching } from '../helpers/proposals';
import { createTestWorker, type TestWorker } from '../helpers/worker';

jest.setTimeout(180_000);

const bed = useLlmTestBed();
const em = () => bed.orm.em.fork() as EntityManager;
let dataDir: string;
let config: Config;
let worker: TestWorker;
let api: TestApi;
let operator: string;
const target = () => path.join(dataDir, 'target');

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'lvlup-proposals-'));
  config = testConfig(
    bed.db.url,
    bed.fakes.env({
      LLM_PROFILE_FALLBACK: '',
      ANTHROPIC_API_KEY: '',
      DATA_DIR: dataDir,
      PROPOSAL_MAX_CHANGED_LINES: '50',
    }),
  );
  worker = await createTestWorker(config, bed.orm, { workflowsPath: require.resolve('../../workflows') });
  worker.start();
  api = await startTestApi(config);
  operator = await api.key('operator', 'reviewer-ops');
});
afterAll(async () => {
  await api.close();
  await worker.close();
  await rm(dataDir, { recursive: true, force: true });
});

beforeEach(async () => {
  bed.fakes.reset();
  await em().nativeUpdate(Agent, {}, { status: 'active', lastPassedAt: new Date(), consecutiveFailures: 0 });
});

const fix = exampleTargetFix;
const SAFE_FIX = fix();
/** A real fix that breaks the existing tests (they expect the SQL text). */
const BREAKING_FIX = `--- a/src/users.js
+++ b/src/users.js
@@ -9,7 +9,7 @@
  * @returns {string}
  */
 function findUserQuery(name) {
-  return "SELECT id, name, email FROM users WHERE name = '" + name + "'";
+  return { text: 'SELECT id, name, email FROM users WHERE name = $1', values: [name] };
 }
 
 /**
`;
const draft = (diff: string, title = 'Check names in findUserQuery'): FakeReply => ({
  json: { title, rationale: 'Quotes in a name ended the SQL string literal.', risk: 'Low: one expression.', diff },
});

/** Scripts the agent's drafts in order (the last one repeats), and Guardian's review (no concerns). */
function drafts(...replies: FakeReply[]): void {
  reviewedAs({ json: { summary: 'Looks safe.', concerns: [] } }, ...replies);
}

/** Scripts Guardian's model review reply (a review, an error, malformed output), then the agent's drafts. */
function reviewedAs(review: FakeReply, ...replies: FakeReply[]): void {
  bed.fakes.reset();
  bed.fakes.openai.when('Review this proposed diff', review);
  bed.fakes.openai.when('Propose one small, safe change', () =>
    replies.length > 1 ? (replies.shift() as FakeReply) : (replies[0] as FakeReply),
  );
}

/** The proposal's awaiting-review notification, written by the step right after the state (10 s at most). */
async function awaitingNotice(id: string): Promise<Notification> {
  for (let i = 0; i < 100; i++) {
    const notice = await em().findOne(Notification, { kind: 'proposal_awaiting_review', data: { proposalId: id } });
    if (notice !== null) return notice;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no proposal_awaiting_review notification for ${id}`);
}

/** Starts a proposal on the file's worker (or `on`, a worker with another config). */
async function start(
  input: Partial<ProposalInput> & { timeouts?: ProposalInput['timeouts'] } = {},
  on: TestWorker = worker,
): Promise<{ id: string; result: Promise<ProposalResult> }> {
  const id = randomUUID();
  const args: ProposalInput = {
    proposalId: id,
    agentId: 'guardian',
    goal: 'Stop SQL injection in findUserQuery',
    trigger: 'api',
    requestedBy: 'test',
    ...input,
    timeouts: { llmMs: 15_000, scanMs: 120_000, dbMs: 10_000, ...input.timeouts },
  };
  const handle = await on.client.workflow.start(PROPOSAL_WORKFLOW, {
    args: [args],
    taskQueue: on.taskQueue,
    workflowId: proposalWorkflowId(id),
  });
  return { id, result: handle.result() };
}

const until = (id: string, status: ProposalState) => proposalReaching(bed.orm, id, status);

const timeline = async (id: string) =>
  (await em().find(ProposalEvent, { proposalId: id }, { orderBy: { seq: 'asc' } })).map((e) => e.state);

it('takes a finding to a tested, reviewed, approved commit on its own branch, leaving the target branch alone', async () => {
  drafts(draft(SAFE_FIX));
  const { repo } = await runTarget(bed.orm, config);
  const finding = new Finding({
    repositoryId: repo.id,
    agentId: 'guardian',
    kind: 'security',
    tool: 'eslint-security',
    rule: 'lvlup/sql-concatenation',
    severity: 'high',
    title: 'SQL built by concatenation',
    message: 'findUserQuery concatenates its argument into SQL',
    file: 'src/users.js',
    line: 12,
    fingerprint: randomUUID().replace(/-/g, ''),
    firstRunId: randomUUID(),
  });
  await em().persistAndFlush(finding);
  const xpBefore = (await em().findOneOrFail(Agent, { id: 'guardian' })).xp;
  const headBefore = await git(target(), ['rev-parse', 'HEAD']).catch(() => null);

  const { id, result } = await start({ findingId: finding.id, goal: undefined });
  const waiting = await until(id, 'awaiting_review');
  expect(waiting).toMatchObject({
    title: 'Check names in findUserQuery',
    changedFiles: ['src/users.js'],
    changedLines: 1,
    drafts: 1,
    validation: { ok: true },
    tests: { ok: true },
    guardianReview: { blocked: false },
  });
  expect(bed.fakes.openai.requests.find((r) => r.prompt.includes('Propose one small'))?.prompt).toContain(
    'function findUserQuery(name)',
  );
  expect(await worker.client.workflow.getHandle(proposalWorkflowId(id)).query(progressQuery)).toMatchObject({
    step: 'awaiting_review',
    state: 'running',
  });
  expect(await em().count(Notification, { kind: 'proposal_awaiting_review', data: { proposalId: id } })).toBe(1);
  expect(waiting.guardianReview).toMatchObject({ modelReview: 'passed', modelReviewReason: null });
  expect((await awaitingNotice(id)).message).toContain("Guardian's scanners and model review found nothing blocking.");

  const viewer = await api.key('viewer');
  expect(
    (await api.request('POST', `/api/proposals/${id}/review`, { key: viewer, body: { decision: 'approve' } })).status,
  ).toBe(403);
  const approved = await api.request('POST', `/api/proposals/${id}/review`, {
    key: operator,
    body: { decision: 'approve', comment: 'Good catch; parameterise next time.' },
  });
  expect(approved.status).toBe(200);
  expect(approved.body).toMatchObject({
    proposalId: id,
    decision: 'approve',
    status: 'applied',
    branch: proposalBranch(id),
  });
  expect(await result).toMatchObject({ status: 'applied', branch: proposalBranch(id) });
  // An identical repeat is answered from the record.
  const again = await api.request('POST', `/api/proposals/${id}/review`, {
    key: operator,
    body: { decision: 'approve', comment: 'Good catch; parameterise next time.' },
  });
  expect(again).toMatchObject({ status: 200, body: { status: 'applied' } });

  const done = await em().findOneOrFail(Proposal, { id });
  expect(done).toMatchObject({ status: 'applied', review: { decision: 'approve', reviewer: 'reviewer-ops' } });
  expect(await timeline(id)).toEqual([
    'drafting',
    'validating',
    'testing',
    'reviewing',
    'awaiting_review',
    'applying',
    'applied',
  ]);
  // The commit is on the proposal's branch, with the change; the checked-out branch did not move.
  expect((await git(target(), ['rev-parse', proposalBranch(id)])).trim()).toBe(done.commit);
  expect(await git(target(), ['show', `${proposalBranch(id)}:src/users.js`])).toContain(
    "throw new TypeError('invalid user name')",
  );
  if (headBefore !== null) expect(await git(target(), ['rev-parse', 'HEAD'])).toBe(headBefore);
  expect(await git(target(), ['status', '--porcelain'])).toBe('');
  expect(await readFile(path.join(target(), 'src/users.js'), 'utf8')).not.toContain('invalid user name');
  expect((await em().findOneOrFail(Agent, { id: 'guardian' })).xp).toBe(xpBefore + 20);
  expect(
    await em().findOne(KnowledgeNote, { agentId: 'guardian', body: { $like: '%parameterise next time%' } }),
  ).not.toBeNull();
  expect(await em().count(Notification, { kind: 'proposal_applied', data: { proposalId: id } })).toBe(1);
  await recordHistory(proposalWorkflowId(id), 'proposal-applied');

  const detail = await api.request('GET', `/api/proposals/${id}`, { key: viewer });
  expect(detail.body).toMatchObject({
    id,
    status: 'applied',
    diff: SAFE_FIX,
    guardianModelReview: 'passed',
    guardianModelReviewReason: null,
    timeline: expect.arrayContaining([expect.objectContaining({ state: 'applied' })]),
  });

  // The same change again is a duplicate (normalization ignores git's header lines and trailing spaces).
  drafts(
    draft(
      `diff --git a/src/users.js b/src/users.js\nindex 1234567..89abcde 100644\n${SAFE_FIX.replace(' */\n', ' */   \n')}`,
    ),
  );
  const dup = await start();
  expect(await dup.result).toMatchObject({
    status: 'invalid',
    reasons: expect.arrayContaining([expect.stringMatching(new RegExp(`duplicate of proposal ${id} \\(applied\\)`))]),
  });
});

it('rejects a diff that escapes the repository and one that is too large, after one redraft each', async () => {
  const escaping = fix('/^[a-z]+$/')
    .replace(/a\/src\/users\.js/, 'a/../outside.js')
    .replace(/b\/src\/users\.js/, 'b/../outside.js');
  drafts(
    draft(escaping, 'Escape'),
    draft(
      escaping.replace('../outside.js', '.git/hooks/pre-commit').replace('../outside.js', '.git/hooks/pre-commit'),
      'Hook',
    ),
  );
  const out = await start();
  const r = await out.result;
  expect(r.status).toBe('invalid');
  expect(r.reasons?.join(' ')).toMatch(/\.git/);
  expect(await timeline(out.id)).toEqual(['drafting', 'validating', 'drafting', 'validating', 'invalid']);
  const redraft = bed.fakes.openai.requests.filter((q) => q.prompt.includes('Propose one small'))[1];
  expect(untrustedContent(redraft?.prompt ?? '', 'why the previous diff was not accepted')).toMatch(/\.\./);

  const big = `--- /dev/null\n+++ b/src/big.js\n@@ -0,0 +1,60 @@\n${Array.from({ length: 60 }, (_, i) => `+// line ${i}`).join('\n')}\n`;
  drafts(draft(big, 'Big'));
  const large = await start();
  expect(await large.result).toMatchObject({
    status: 'invalid',
    reasons: [expect.stringMatching(/changes 60 lines, more than the limit of 50/)],
  });
  expect((await em().findOneOrFail(Proposal, { id: large.id })).drafts).toBe(2);
});

it('gives failing tests one redraft with the output, then ends failed_tests', async () => {
  drafts(draft(BREAKING_FIX, 'Parameterise findUserQuery'));
  const { id, result } = await start();
  expect(await result).toMatchObject({ status: 'failed_tests' });
  expect(await timeline(id)).toEqual([
    'drafting',
    'validating',
    'testing',
    'drafting',
    'validating',
    'testing',
    'failed_tests',
  ]);
  const p = await em().findOneOrFail(Proposal, { id });
  expect(p.tests).toMatchObject({ ok: false, tests: { fail: expect.any(Number) } });
  expect(bed.fakes.openai.requests.filter((q) => q.prompt.includes('Propose one small'))[1]?.prompt).toMatch(
    /The tests failed with the patch applied/,
  );
});

it('lets Guardian block a diff that adds a hard-coded secret', async () => {
  const secret = `--- /dev/null\n+++ b/src/keys.js\n@@ -0,0 +1,5 @@\n+'use strict';\n+module.exports = {\n+  awsAccessKeyId: 'AKIAIOSFODNN7EXAMPLE',\n+  awsSecretAccessKey: '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',\n+};\n`;
  drafts(draft(secret, 'Central key store'));
  const { id, result } = await start();
  const r = await result;
  expect(r.status).toBe('blocked');
  expect(r.reasons?.join(' ')).toMatch(/secretlint finding in src\/keys\.js/);
  const p = await em().findOneOrFail(Proposal, { id });
  expect(p.guardianReview).toMatchObject({ blocked: true, model: { summary: 'Looks safe.' } });
  // A review of a blocked proposal is refused.
  expect(
    (await api.request('POST', `/api/proposals/${id}/review`, { key: operator, body: { decision: 'approve' } })).status,
  ).toBe(409);
});

it('marks a proposal whose Guardian model review failed `unavailable` with the reason, and tells the reviewer it never happened', async () => {
  // The model answers the review (and its repair turn) with prose instead of the schema's JSON: LlmBadOutput.
  reviewedAs({ text: 'I would rather not review this diff.' }, draft(fix('/^[a-z0-9]+$/'), 'Lower-case names only'));
  const { id, result } = await start();
  const waiting = await until(id, 'awaiting_review');
  const notice = await awaitingNotice(id);
  expect(notice.message).toMatch(/Guardian's model review was unavailable: LlmBadOutput: .+ — review it yourself\./);
  expect(notice.message).not.toContain('Guardian did not block it');
  expect(notice.data).toMatchObject({ guardianModelReview: 'unavailable' });
  expect(waiting.guardianReview).toMatchObject({
    blocked: false,
    model: { unavailable: expect.stringMatching(/^LlmBadOutput: /) },
    modelReview: 'unavailable',
    modelReviewReason: expect.stringMatching(/^LlmBadOutput: /),
  });
  const reason = String(waiting.guardianReview?.modelReviewReason);
  expect(notice.message).toContain(`unavailable: ${reason} — review`);

  const viewer = await api.key('viewer');
  const detail = await api.request('GET', `/api/proposals/${id}`, { key: viewer });
  expect(detail.body).toMatchObject({
    status: 'awaiting_review',
    guardianModelReview: 'unavailable',
    guardianModelReviewReason: reason,
  });
  const list = await api.request('GET', '/api/proposals?status=awaiting_review&agent=guardian', { key: viewer });
  expect((list.body as { items: unknown[] }).items).toContainEqual(
    expect.objectContaining({ id, guardianModelReview: 'unavailable', guardianModelReviewReason: reason }),
  );

  await api.request('POST', `/api/proposals/${id}/review`, { key: operator, body: { decision: 'reject' } });
  expect(await result).toMatchObject({ status: 'rejected' });
});

it('marks a proposal whose Guardian model review named only non-blocking concerns `concerns`, and says so', async () => {
  const concern = {
    severity: 'medium',
    file: 'src/users.js',
    message: 'The allow-list refuses names with an apostrophe.',
  };
  reviewedAs(
    { json: { summary: 'Safe, but strict.', concerns: [concern] } },
    draft(fix('/^[a-z]{1,64}$/'), 'Short lower-case names only'),
  );
  const { id, result } = await start();
  const waiting = await until(id, 'awaiting_review');
  expect(waiting.guardianReview).toMatchObject({
    blocked: false,
    reasons: [],
    model: { concerns: [concern] },
    modelReview: 'concerns',
    modelReviewReason: null,
  });
  expect((await awaitingNotice(id)).message).toContain('its model review raised 1 non-blocking concern(s)');
  const detail = await api.request('GET', `/api/proposals/${id}`, { key: await api.key('viewer') });
  expect(detail.body).toMatchObject({ guardianModelReview: 'concerns', guardianModelReviewReason: null });

  await api.request('POST', `/api/proposals/${id}/review`, { key: operator, body: { decision: 'reject' } });
  expect(await result).toMatchObject({ status: 'rejected' });
});

it('blocks a proposal whose Guardian model review is unavailable when PROPOSAL_REQUIRE_MODEL_REVIEW is on, with the reason', async () => {
  const strictConfig = testConfig(
    bed.db.url,
    bed.fakes.env({
      LLM_PROFILE_FALLBACK: '',
      ANTHROPIC_API_KEY: '',
      DATA_DIR: dataDir,
      PROPOSAL_MAX_CHANGED_LINES: '50',
      PROPOSAL_REQUIRE_MODEL_REVIEW: 'true',
    }),
  );
  expect(strictConfig.proposals.requireModelReview).toBe(true);
  const strict = await createTestWorker(strictConfig, bed.orm, { workflowsPath: require.resolve('../../workflows') });
  strict.start();
  try {
    // The provider refuses the review request (401): LlmRequestRejected, not retried.
    reviewedAs(
      { status: 401, message: 'invalid api key for the review' },
      draft(fix('/^[a-z]+$/'), 'Lower-case letters only'),
    );
    // A short review timeout: should the proposal reach review after all, it expires and the test fails at once.
    const { id, result } = await start({ timeouts: { reviewMs: 3000 } }, strict);
    expect(await result).toMatchObject({
      status: 'blocked',
      reasons: [
        expect.stringMatching(
          /^Guardian's model review was unavailable and PROPOSAL_REQUIRE_MODEL_REVIEW is on: LlmRequestRejected: .*invalid api key/,
        ),
      ],
    });
    expect(await timeline(id)).toEqual(['drafting', 'validating', 'testing', 'reviewing', 'blocked']);
    const p = await em().findOneOrFail(Proposal, { id });
    expect(p).toMatchObject({
      status: 'blocked',
      error: expect.stringMatching(/PROPOSAL_REQUIRE_MODEL_REVIEW is on: LlmRequestRejected/),
      guardianReview: { blocked: true, modelReview: 'unavailable' },
    });
    expect(await em().count(Notification, { kind: 'proposal_awaiting_review', data: { proposalId: id } })).toBe(0);
  } finally {
    await strict.close();
  }
});

it('records a rejection with the comment as a knowledge note and no xp', async () => {
  drafts(draft(fix('/^[^\\\\]+$/'), 'Refuse backslashes in names'));
  const xpBefore = (await em().findOneOrFail(Agent, { id: 'guardian' })).xp;
  const { id, result } = await start();
  await until(id, 'awaiting_review');
  const rejected = await api.request('POST', `/api/proposals/${id}/review`, {
    key: operator,
    body: { decision: 'reject', comment: 'An allow-list hides the bug; use parameters.' },
  });
  expect(rejected.body).toMatchObject({ status: 'rejected', decision: 'reject' });
  expect(await result).toMatchObject({ status: 'rejected' });
  expect((await em().findOneOrFail(Agent, { id: 'guardian' })).xp).toBe(xpBefore);
  const note = await em().findOneOrFail(KnowledgeNote, {
    agentId: 'guardian',
    body: { $like: '%allow-list hides the bug%' },
  });
  expect(note.sources).toEqual(expect.arrayContaining([{ kind: 'proposal', ref: id }]));
  const changed = await api.request('POST', `/api/proposals/${id}/review`, {
    key: operator,
    body: { decision: 'approve' },
  });
  expect(changed.status).toBe(409);
});

it('expires a proposal nobody reviews within the (short) review timeout', async () => {
  drafts(draft(fix('/^\\w+$/'), 'Word characters only'));
  const { id, result } = await start({ timeouts: { reviewMs: 1500 } });
  expect(await result).toMatchObject({ status: 'expired' });
  expect(await em().count(Notification, { kind: 'proposal_expired', data: { proposalId: id } })).toBe(1);
});

it('refuses an ineligible agent with the reasons, and fails the apply when the head moved', async () => {
  await em().nativeUpdate(Agent, { id: 'conquest' }, { lastPassedAt: null });
  const refused = await start({ agentId: 'conquest' });
  expect(await refused.result).toMatchObject({ status: 'ineligible', reasons: ['has never passed an exam'] });
  expect(await timeline(refused.id)).toEqual(['ineligible']);
  expect(bed.fakes.openai.requests.filter((q) => q.prompt.includes('Propose one small'))).toHaveLength(0);

  drafts(draft(fix('/^[a-zA-Z]+$/'), 'Letters only'));
  const { id, result } = await start();
  await until(id, 'awaiting_review');
  // Someone changes the same line on the target's branch meanwhile.
  const file = path.join(target(), 'src/users.js');
  await writeFile(
    file,
    (await readFile(file, 'utf8')).replace(`WHERE name = '" + name + "'`, `WHERE name = '" + name.trim() + "'`),
  );
  await git(target(), ['-c', 'user.name=dev', '-c', 'user.email=dev@example.com', 'commit', '-qam', 'trim names']);
  const approved = await api.request('POST', `/api/proposals/${id}/review`, {
    key: operator,
    body: { decision: 'approve' },
  });
  expect(approved.body).toMatchObject({
    status: 'apply_failed',
    reason: expect.stringMatching(/no longer applies to the current head/),
  });
  expect(await result).toMatchObject({ status: 'apply_failed' });
  expect(await git(target(), ['branch', '--list', proposalBranch(id)])).toBe('');
});

it('records a goal the database refuses (a NUL) as an ineligible proposal with the reason, at once, never retrying it', async () => {
  const started = Date.now();
  const { id, result } = await start({ goal: 'Stop SQL\u0000 injection' });
  expect(await result).toMatchObject({
    status: 'ineligible',
    reasons: [expect.stringMatching(/^the request could not be stored: /)],
  });
  expect(Date.now() - started).toBeLessThan(5000);
  const stored = await em().findOneOrFail(Proposal, { id });
  expect(stored).toMatchObject({
    status: 'ineligible',
    goal: null,
    requestedBy: 'test',
    error: expect.stringMatching(/could not be stored/),
  });
  expect(await timeline(id)).toEqual(['ineligible']);
});

it('lets only one of two concurrent proposals for one finding live; the other is recorded ineligible with the reason', async () => {
  const { repo } = await runTarget(bed.orm, config);
  const finding = new Finding({
    repositoryId: repo.id,
    agentId: 'guardian',
    kind: 'security',
    tool: 'eslint-security',
    rule: 'lvlup/sql-concatenation',
    severity: 'high',
    title: 'SQL built by concatenation',
    message: 'findUserQuery concatenates its argument into SQL',
    file: 'src/users.js',
    line: 12,
    fingerprint: randomUUID().replace(/-/g, ''),
    firstRunId: randomUUID(),
  });
  await em().persistAndFlush(finding);
  const begin = () => {
    const proposalId = randomUUID();
    return beginProposal(
      { orm: bed.orm, config },
      {
        proposalId,
        workflowId: proposalWorkflowId(proposalId),
        agentId: 'guardian',
        findingId: finding.id,
        trigger: 'cycle',
      },
    ).then((outcome) => ({ proposalId, outcome }));
  };
  const both = await Promise.all([begin(), begin()]);
  expect(both.map((b) => b.outcome.eligible).sort()).toEqual([false, true]);
  const winner = both.find((b) => b.outcome.eligible);
  const loser = both.find((b) => !b.outcome.eligible);
  expect(loser?.outcome.reasons).toEqual([
    `finding ${finding.id} already has proposal ${winner?.proposalId} (drafting)`,
  ]);
  const rows = await em().find(Proposal, { findingId: finding.id }, { orderBy: { status: 'asc' } });
  expect(rows.map((r) => [r.id, r.status])).toEqual(
    expect.arrayContaining([
      [winner?.proposalId, 'drafting'],
      [loser?.proposalId, 'ineligible'],
    ]),
  );
  expect(rows).toHaveLength(2);
});
