import path from 'node:path';
import { proposalBranch } from '../../src/contracts';
import { git } from '../../src/target';
import { exampleTargetFix } from '../helpers/proposals';
import { holdLock, workflowEnding } from './exams';
import { waitFor, type Stage } from './harness';
import { query } from './measures';
import { eligible, startWork, WORK_KINDS } from './runs';

/** How long the proposal may take to reach awaiting_review (draft, validate, the target's tests in the sandbox, scan). */
const REVIEWABLE_MS = 180_000;
/** How long it may take to end after the kill (the apply's retry waits out the heartbeat timeout first). */
const APPLY_ENDING_MS = 120_000;

const PROPOSAL = WORK_KINDS.find((k) => k.name === 'proposal');

/** The fake model drafts the example target's safe fix and Guardian's model review has no concerns. */
function scriptProposal(stage: Stage): void {
  const { openai } = stage.lab.fakes;
  openai.when('Review this proposed diff', { json: { summary: 'Looks safe.', concerns: [] } });
  openai.when('Propose one small, safe change', {
    json: {
      title: 'Check names in findUserQuery',
      rationale: 'Quotes in a name ended the SQL literal.',
      risk: 'Low: one expression.',
      diff: exampleTargetFix(),
    },
  });
}

async function proposalBranches(stage: Stage): Promise<string[]> {
  const out = await git(path.join(stage.config.dataDir, 'target'), [
    'for-each-ref',
    '--format=%(refname:short) %(objectname)',
    'refs/heads/lvlup/',
  ]);
  return out.split('\n').filter((l) => l.trim() !== '');
}

/**
 * A proposal started over the API reaches awaiting_review and is approved through the API's review route; its apply
 * is caught after its commit is on the branch and before the proposal row records it (the suite holds the row), and
 * the worker is SIGKILLed there; a new worker starts. Correct: the proposal ends `applied` once, its commit the tip of
 * the one proposal branch, one `proposal_applied` notification, each state of its timeline once, the review answered.
 */
export async function proposalApplyWorkerKilled(stage: Stage): Promise<{ correct: boolean; notes: string[] }> {
  if (PROPOSAL === undefined) throw new Error('no proposal work kind');
  await eligible('guardian')(stage);
  scriptProposal(stage);
  const first = await stage.workers.start();
  const started = await startWork(stage, PROPOSAL);
  if (started.workflowId === undefined)
    return { correct: false, notes: [`the proposal was answered ${started.status}`] };
  const workflowId = started.workflowId;
  const proposalRow = async () =>
    (
      await query<{ id: string; status: string; commit: string | null; branch: string | null }>(
        stage,
        'select id, status, commit, branch from proposals where workflow_id = $1',
        [workflowId],
      )
    )[0];
  const waiting = await waitFor('the proposal to await review', REVIEWABLE_MS, async () => {
    const p = await proposalRow();
    if (p !== undefined && !['drafting', 'validating', 'testing', 'reviewing', 'awaiting_review'].includes(p.status))
      throw new Error(`the proposal ended ${p.status} before its review`);
    return p?.status === 'awaiting_review' && p;
  });
  // The apply waits at its start (the target's repository row cannot be read), then — the row the suite holds — at
  // its record, with its commit made.
  const start = await holdLock(stage, 'lock table repositories in access exclusive mode', []);
  const review = stage.api.request('POST', `/api/proposals/${waiting.id}/review`, {
    key: stage.operatorKey,
    body: { decision: 'approve', comment: 'chaos' },
  });
  await start.blocking();
  const record = await holdLock(stage, 'select id from proposals where id = $1 for update', [waiting.id]);
  await start.release();
  await record.blocking();
  const atKill = await proposalBranches(stage);
  await stage.workers.kill(first);
  await record.release();
  await stage.workers.start();
  const ending = await workflowEnding(stage, workflowId, APPLY_ENDING_MS);
  const reviewed = await review;
  const p = await proposalRow();
  const branches = await proposalBranches(stage);
  const [counts] = await query<{ applied: number; events: number; states: number }>(
    stage,
    `select (select count(*) from notifications where kind = 'proposal_applied' and data->>'proposalId' = $1)::int as applied,
            (select count(*) from proposal_events where proposal_id = $1::uuid)::int as events,
            (select count(distinct state) from proposal_events where proposal_id = $1::uuid)::int as states`,
    [waiting.id],
  );
  const notes: string[] = [];
  if (atKill.length !== 1)
    notes.push(`the worker was not caught between commit and record (${atKill.length} proposal branches at the kill)`);
  if (ending.error !== undefined) notes.push(`proposal workflow: ${ending.error}`);
  if (p?.status !== 'applied' || p.branch !== proposalBranch(waiting.id))
    notes.push(`proposal ${p?.status ?? 'missing'} on ${p?.branch ?? 'no branch'}`);
  if (branches.length !== 1 || branches[0] !== `${proposalBranch(waiting.id)} ${p?.commit ?? ''}`)
    notes.push(`proposal branches: ${branches.join(', ') || 'none'}; recorded commit ${p?.commit ?? 'none'}`);
  if (counts?.applied !== 1) notes.push(`${counts?.applied ?? 0} proposal_applied notifications`);
  if (counts?.events !== counts?.states)
    notes.push(`${counts?.events ?? 0} timeline rows for ${counts?.states ?? 0} states`);
  if (reviewed.status !== 200) notes.push(`the review was answered ${reviewed.status}`);
  return { correct: notes.length === 0, notes };
}
