import type { z } from 'zod';
import type { ReviewOutcome } from '../../../contracts';
import type { Proposal, ProposalEvent } from '../../../db/entities';
import { proposalModelReview } from '../../../domain/guardian-review';
import type { proposalResponse, proposalSummaryResponse, reviewOutcomeResponse } from './schema';

/**
 * A proposal in a list: what it is and where it stands, without the diff and the pipeline's reports. Guardian's model
 * review is `passed`, `concerns` or `unavailable` (with the reason), null before Guardian reviewed it.
 */
export function presentProposalSummary(p: Proposal): z.infer<typeof proposalSummaryResponse> {
  const modelReview = proposalModelReview(p.guardianReview);
  return {
    id: p.id,
    workflowId: p.workflowId,
    agentId: p.agentId,
    findingId: p.findingId,
    goal: p.goal,
    title: p.title,
    status: p.status,
    trigger: p.trigger,
    requestedBy: p.requestedBy,
    changedFiles: p.changedFiles,
    changedLines: p.changedLines,
    branch: p.branch,
    commit: p.commit,
    guardianModelReview: modelReview?.state ?? null,
    guardianModelReviewReason: modelReview?.reason ?? null,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
    completedAt: p.completedAt?.toISOString() ?? null,
  };
}

/** The whole proposal: the draft, every stage's report, the review and the timeline in order. */
export function presentProposal(p: Proposal, events: ProposalEvent[]): z.infer<typeof proposalResponse> {
  return {
    ...presentProposalSummary(p),
    repositoryId: p.repositoryId,
    rationale: p.rationale,
    risk: p.risk,
    diff: p.diff,
    diffHash: p.diffHash,
    drafts: p.drafts,
    baseCommit: p.baseCommit,
    eligibility: p.eligibility,
    validation: p.validation,
    tests: p.tests,
    guardianReview: p.guardianReview,
    review: p.review,
    error: p.error,
    timeline: events.map((e) => ({
      seq: e.seq,
      state: e.state,
      detail: e.detail,
      data: e.data,
      at: e.at.toISOString(),
    })),
  };
}

/** One shape for a review's answer, whether the workflow carried it out now or the row shows it was already done. */
export function presentReviewOutcome(o: ReviewOutcome): z.infer<typeof reviewOutcomeResponse> {
  return {
    proposalId: o.proposalId,
    decision: o.decision,
    status: o.status,
    commit: o.commit ?? null,
    branch: o.branch ?? null,
    reason: o.reason ?? null,
  };
}
