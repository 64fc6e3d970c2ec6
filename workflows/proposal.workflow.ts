import { ApplicationFailure, condition, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  DEFAULT_REVIEW_MAX_AGE_MS,
  progressQuery,
  reviewShapeProblem,
  reviewUpdate,
  sameReview,
  type ProposalInput,
  type ProposalResult,
  type ProposalStatus,
  type ReviewInput,
  type ReviewOutcome,
  type WorkflowProgress,
} from '../src/contracts';
import { CANCELLED_REASON, describeFailure, endIfCancelled } from './failures';
import { proxyByKind } from './queues';

const TERMINAL: readonly ProposalStatus[] = [
  'applied',
  'rejected',
  'expired',
  'invalid',
  'failed_tests',
  'blocked',
  'ineligible',
  'apply_failed',
  'failed',
  'cancelled',
];
/** Redrafts allowed after an invalid draft, and after failing tests (ARCHITECTURE §3.6 steps 3–4). */
const REDRAFTS = { invalid: 1, tests: 1 };
/** Reviews are verified (signature, age) by an activity before they are taken; histories from before replay without. */
const SIGNED_REVIEW_PATCH = 'signed-review';

/**
 * The proposal pipeline (ARCHITECTURE §3.6): eligibility → draft → validate (one redraft) → test in the sandbox (one
 * redraft) → Guardian's review → awaiting a person's `review` Update (or PROPOSAL_REVIEW_TIMEOUT → expired) → apply as a
 * commit on its own branch → learn. Every transition is a timeline row; the `progress` query reports the state.
 */
export async function proposalWorkflow(input: ProposalInput): Promise<ProposalResult> {
  const t = { llmMs: 300_000, scanMs: 300_000, dbMs: 30_000, ...input.timeouts };
  const db = proxyByKind({ startToCloseTimeout: t.dbMs, retry: { maximumAttempts: 10 } });
  const hb = t.heartbeatMs === undefined ? {} : { heartbeatTimeout: t.heartbeatMs };
  const llm = proxyByKind({
    startToCloseTimeout: t.llmMs,
    ...hb,
    retry: { initialInterval: '2 seconds', maximumAttempts: 5 },
  });
  const work = proxyByKind({
    startToCloseTimeout: t.scanMs,
    ...hb,
    retry: { initialInterval: '5 seconds', maximumAttempts: 3 },
  });
  const { proposalId } = input;

  let status: ProposalStatus = 'drafting';
  let seq = 0;
  let review: ReviewInput | undefined;
  let outcome: ReviewOutcome | undefined;
  let reviewMaxAgeMs = DEFAULT_REVIEW_MAX_AGE_MS;
  const progress: WorkflowProgress = { step: 'eligibility', state: 'running', completedSteps: [] };
  setHandler(progressQuery, () => progress);

  const move = async (to: ProposalStatus, detail?: string, data?: Record<string, unknown>) => {
    progress.completedSteps.push(progress.step);
    progress.step = to;
    status = to;
    if (TERMINAL.includes(to)) progress.state = to === 'failed' ? 'failed' : 'completed';
    await db.proposalTransition(proposalId, ++seq, to, detail, data);
  };
  const end = async (
    to: ProposalStatus,
    detail?: string,
    extra: Partial<ProposalResult> = {},
  ): Promise<ProposalResult> => {
    await move(to, detail);
    return { proposalId, status: to, ...extra };
  };

  setHandler(
    reviewUpdate,
    async (r) => {
      if (patched(SIGNED_REVIEW_PATCH)) {
        // Workflows hold no keys: an activity checks the API's signature and the review's age on the worker's clock,
        // before the review is taken. A refused one is recorded (timeline and audit rows) and changes nothing else.
        const { workflowId } = workflowInfo();
        const verdict = await db.proposalVerifyReview(workflowId, r);
        if (!verdict.accepted) {
          await db.proposalRefuseReview(proposalId, workflowId, ++seq, r, verdict.reason);
          throw ApplicationFailure.nonRetryable(`review refused: ${verdict.reason}`, 'ReviewRefused');
        }
        // Checked again: another review may have been taken, or the proposal expired, while this one was verified.
        if (review !== undefined ? !sameReview(review, r) : status !== 'awaiting_review') {
          throw ApplicationFailure.nonRetryable(
            review !== undefined
              ? 'the proposal has already been reviewed'
              : `proposal is ${status}, not awaiting_review`,
            'ReviewConflict',
          );
        }
      }
      review ??= r;
      await condition(() => outcome !== undefined);
      return outcome as ReviewOutcome;
    },
    {
      validator: (r) => {
        if (review !== undefined && sameReview(review, r)) return; // an identical repeat gets the same outcome
        if (status !== 'awaiting_review' || review !== undefined)
          throw new Error(`proposal is ${status}, not awaiting_review`);
        // Deterministic checks on workflow time (an unsigned, malformed or stale review is rejected before it is
        // accepted into history); the signature itself is verified by the handler's activity. Date.now() here is the
        // sandbox's clock (the workflow task's time), and validators are not run on replay.
        // eslint-disable-next-line no-restricted-properties
        const problem = reviewShapeProblem(r, Date.now(), reviewMaxAgeMs);
        if (problem !== undefined) throw new Error(problem);
      },
    },
  );

  try {
    const begun = await db.proposalBegin({ ...input, workflowId: workflowInfo().workflowId });
    reviewMaxAgeMs = begun.reviewMaxAgeMs ?? DEFAULT_REVIEW_MAX_AGE_MS;
    if (!begun.eligible) return { ...(await end('ineligible', begun.reasons.join('; '))), reasons: begun.reasons };

    // Draft → validate → test, with one redraft for an invalid draft and one for failing tests.
    let feedback: string | null = null;
    const redrafts = { invalid: 0, tests: 0 };
    for (let draftNo = 1; ; draftNo++) {
      await move('drafting', feedback === null ? undefined : `redraft: ${feedback.slice(0, 500)}`);
      const draft = await llm.proposalDraft(proposalId, draftNo, feedback);
      await move(
        'validating',
        `draft ${draftNo}: ${draft.title} (${draft.changedLines} lines in ${draft.files.join(', ') || 'no files'})`,
      );
      const validation = await work.proposalValidate(proposalId);
      if (!validation.ok) {
        if (redrafts.invalid++ < REDRAFTS.invalid) {
          feedback = validation.problems.join('\n');
          continue;
        }
        return { ...(await end('invalid', validation.problems.join('; '))), reasons: validation.problems };
      }
      await move('testing');
      const tested = await work.proposalTest(proposalId);
      if (!tested.ok) {
        if (redrafts.tests++ < REDRAFTS.tests) {
          feedback = `The tests failed with the patch applied (${tested.tests.fail ?? '?'} failing):\n${tested.tests.outputTail}`;
          continue;
        }
        return end('failed_tests', `${tested.tests.fail ?? '?'} failing tests: ${tested.tests.outputTail.slice(-500)}`);
      }
      break;
    }

    await move('reviewing');
    await work.proposalScan(proposalId);
    let modelUnavailable: string | null = null;
    try {
      await llm.proposalModelReview(proposalId);
    } catch (err) {
      modelUnavailable = describeFailure(err);
    }
    const verdict = await db.proposalGuardianVerdict(proposalId, modelUnavailable);
    if (verdict.blocked) return { ...(await end('blocked', verdict.reasons.join('; '))), reasons: verdict.reasons };

    await move('awaiting_review');
    await db.proposalNotify(proposalId, 'proposal_awaiting_review');
    const reviewed = await condition(() => review !== undefined, t.reviewMs ?? begun.reviewTimeoutMs);
    if (!reviewed || review === undefined) {
      const expired = await end('expired', 'no review within the review timeout');
      await db.proposalNotify(proposalId, 'proposal_expired');
      return expired;
    }
    const decision: ReviewInput = review;
    await db.proposalRecordReview(proposalId, decision);

    let result: ProposalResult;
    if (decision.decision === 'reject') {
      result = await end('rejected', decision.comment ?? undefined, {
        reasons: decision.comment ? [decision.comment] : [],
      });
    } else {
      await move('applying', `approved by ${decision.reviewer}`);
      const applied = await work.proposalApply(proposalId);
      if (applied.ok) {
        result = await end('applied', `${applied.commit} on ${applied.branch}`, {
          commit: applied.commit,
          branch: applied.branch,
        });
        await db.proposalNotify(proposalId, 'proposal_applied');
      } else {
        result = await end('apply_failed', applied.reason, { reasons: applied.reason ? [applied.reason] : [] });
      }
    }
    await db.proposalLearn(proposalId, decision);
    outcome = {
      proposalId,
      decision: decision.decision,
      status: result.status,
      commit: result.commit,
      branch: result.branch,
      reason: result.reasons?.[0],
    };
    return result;
  } catch (err) {
    // Cancelled from outside: ends `cancelled`, which frees its finding and no longer counts as open.
    const cancelled =
      !TERMINAL.includes(status) && (await endIfCancelled(err, () => move('cancelled', CANCELLED_REASON)));
    // A step that failed for good (no model to draft with, a dependency down): recorded, never left hanging.
    if (!cancelled && !TERMINAL.includes(status)) await move('failed', describeFailure(err));
    outcome ??=
      review === undefined
        ? undefined
        : {
            proposalId,
            decision: review.decision,
            status: cancelled ? 'cancelled' : 'failed',
            reason: describeFailure(err),
          };
    throw err;
  }
}
