import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import {
  PROPOSAL_WORKFLOW,
  proposalBranch,
  proposalWorkflowId,
  reviewUpdate,
  type ProposalInput,
  type ReviewInput,
} from '../../src/contracts';
import type { Config } from '../../src/config';
import { signReview } from '../../src/crypto/review-signature';
import { Agent, AuditLog, KnowledgeNote, Proposal, ProposalEvent } from '../../src/db/entities';
import { git } from '../../src/target';
import { startTestApi, type TestApi } from '../helpers/api';
import { testConfig } from '../helpers/config';
import { recordHistory } from '../helpers/histories';
import { useLlmTestBed } from '../helpers/llm';
import { exampleTargetFix, proposalReaching, signedReview } from '../helpers/proposals';
import { createTestWorker, type TestWorker } from '../helpers/worker';

/**
 * Signed reviews (ARCHITECTURE §3.6 step 6), on real Temporal: a `review` Update sent straight to the Temporal
 * frontend — unsigned, forged, signed for another proposal or decision, or stale — is refused and recorded, and
 * commits nothing; the API's signed review still approves end to end.
 */

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
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'lvlup-signed-review-'));
  config = testConfig(
    bed.db.url,
    bed.fakes.env({
      LLM_PROFILE_FALLBACK: '',
      ANTHROPIC_API_KEY: '',
      DATA_DIR: dataDir,
      REVIEW_SIGNING_KEY: randomBytes(32).toString('hex'),
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
  await em().nativeUpdate(Agent, {}, { status: 'active', lastPassedAt: new Date(), consecutiveFailures: 0 });
});

let variant = 8;
/** A proposal awaiting review, with a change of its own (a repeated diff would be refused as a duplicate). */
async function awaitingReview(): Promise<{ id: string; result: Promise<unknown> }> {
  variant++;
  bed.fakes.reset();
  bed.fakes.openai.when('Review this proposed diff', { json: { summary: 'Looks safe.', concerns: [] } });
  bed.fakes.openai.when('Propose one small, safe change', {
    json: {
      title: `Names of at most ${variant} letters`,
      rationale: 'Quotes in a name ended the SQL string literal.',
      risk: 'Low.',
      diff: exampleTargetFix(`/^[a-z]{1,${variant}}$/`),
    },
  });
  const id = randomUUID();
  const args: ProposalInput = {
    proposalId: id,
    agentId: 'guardian',
    goal: 'Stop SQL injection in findUserQuery',
    trigger: 'api',
    requestedBy: 'test',
    timeouts: { llmMs: 15_000, scanMs: 120_000, dbMs: 10_000 },
  };
  const handle = await worker.client.workflow.start(PROPOSAL_WORKFLOW, {
    args: [args],
    taskQueue: worker.taskQueue,
    workflowId: proposalWorkflowId(id),
  });
  await proposalReaching(bed.orm, id, 'awaiting_review');
  return { id, result: handle.result() };
}

const MINUTE = 60_000;
const cases: Array<[string, (id: string) => ReviewInput, RegExp]> = [
  [
    'without a signature',
    () => ({ decision: 'approve', reviewer: 'mallory', comment: 'lgtm' }) as unknown as ReviewInput,
    /not signed/,
  ],
  [
    'with a forged signature',
    () => ({
      decision: 'approve',
      reviewer: 'reviewer-ops',
      comment: null,
      issuedAt: new Date().toISOString(),
      signature: randomBytes(32).toString('hex'),
    }),
    /signature does not match/,
  ],
  [
    'signed with another key',
    (id) =>
      signReview(randomBytes(32), {
        workflowId: proposalWorkflowId(id),
        decision: 'approve',
        reviewer: 'reviewer-ops',
        issuedAt: new Date().toISOString(),
      }),
    /signature does not match/,
  ],
  [
    'signed for another proposal',
    () => signedReview(config, randomUUID(), { decision: 'approve', reviewer: 'reviewer-ops' }),
    /signature does not match/,
  ],
  [
    'signed as a rejection, sent as an approval',
    (id) => ({ ...signedReview(config, id, { decision: 'reject', reviewer: 'reviewer-ops' }), decision: 'approve' }),
    /signature does not match/,
  ],
  [
    'signed for another reviewer',
    (id) => ({ ...signedReview(config, id, { decision: 'approve', reviewer: 'reviewer-ops' }), reviewer: 'admin' }),
    /signature does not match/,
  ],
  [
    'signed, but stale (issued 11 minutes ago)',
    (id) =>
      signedReview(config, id, {
        decision: 'approve',
        reviewer: 'reviewer-ops',
        issuedAt: new Date(Date.now() - 11 * MINUTE).toISOString(),
      }),
    /stale/,
  ],
];

it.each(cases)(
  'refuses a review sent straight to Temporal %s: nothing is committed, the refusal is recorded, a real review still works',
  async (_what, make, reason) => {
    const xpBefore = (await em().findOneOrFail(Agent, { id: 'guardian' })).xp;
    const auditsBefore = await em().count(AuditLog, { action: 'proposal.review_refused' });
    const { id, result } = await awaitingReview();
    const handle = worker.client.workflow.getHandle(proposalWorkflowId(id));

    const sent = handle.executeUpdate(reviewUpdate, { args: [make(id)] });
    await expect(sent).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
    const failure = (await sent.catch((err: WorkflowUpdateFailedError) => err)) as WorkflowUpdateFailedError;
    expect(failure.cause?.message).toMatch(reason);

    // Nothing taken: still awaiting review, no decision, no commit, no branch, no xp, no lesson.
    const p = await em().findOneOrFail(Proposal, { id });
    expect(p).toMatchObject({ status: 'awaiting_review', review: null, commit: null, learnedAt: null });
    expect(await git(target(), ['branch', '--list', proposalBranch(id)])).toBe('');
    expect((await em().findOneOrFail(Agent, { id: 'guardian' })).xp).toBe(xpBefore);
    expect(await em().count(KnowledgeNote, { body: { $like: '%lgtm%' } })).toBe(0);

    // The refusal is recorded once the handler ran (a validator's rejection never reaches the worker's activities).
    const events = await em().find(ProposalEvent, { proposalId: id }, { orderBy: { seq: 'asc' } });
    const refusals = events.filter((e) => e.data.reviewRefused === true);
    const byValidator = /not signed|stale/.test(reason.source);
    if (byValidator) {
      expect(refusals).toHaveLength(0);
    } else {
      expect(refusals).toHaveLength(1);
      expect(refusals[0]).toMatchObject({ state: 'awaiting_review', detail: expect.stringMatching(reason) });
      expect(
        await em().count(AuditLog, { action: 'proposal.review_refused', target: `proposal:${id}`, status: 403 }),
      ).toBe(1);
      expect(await em().count(AuditLog, { action: 'proposal.review_refused' })).toBe(auditsBefore + 1);
    }

    // The proposal still takes the API's (signed) review: a rejection, or for one case an approval carried to a commit.
    const approve = _what === 'with a forged signature';
    const reviewed = await api.request('POST', `/api/proposals/${id}/review`, {
      key: operator,
      body: { decision: approve ? 'approve' : 'reject', comment: 'via the API' },
    });
    expect(reviewed).toMatchObject({ status: 200, body: { status: approve ? 'applied' : 'rejected' } });
    await result;
    const done = await em().findOneOrFail(Proposal, { id });
    expect(done.review).toMatchObject({ reviewer: 'reviewer-ops', decision: approve ? 'approve' : 'reject' });
    expect((await em().findOneOrFail(Agent, { id: 'guardian' })).xp).toBe(xpBefore + (approve ? 20 : 0));
    if (approve) {
      expect((await git(target(), ['rev-parse', proposalBranch(id)])).trim()).toBe(done.commit);
      // A refused review, then a verified one, for replay.test.ts: the `signed-review` path replays as it ran.
      await recordHistory(proposalWorkflowId(id), 'proposal-signed-review');
    }
  },
);
