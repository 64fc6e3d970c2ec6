import { defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import type { AgentId } from '../domain/agents';

/** The proposal pipeline (ARCHITECTURE §3.6): id, input, the `review` Update, results and the models' outputs. */
export const PROPOSAL_WORKFLOW = 'proposalWorkflow';

/** `proposal-<proposal id>`: the workflow and its row share one id. */
export function proposalWorkflowId(proposalId: string): string {
  return `proposal-${proposalId}`;
}

/** `lvlup/proposal-<first 8 characters of the proposal id>`. */
export function proposalBranch(proposalId: string): string {
  return `lvlup/proposal-${proposalId.replace(/-/g, '').slice(0, 8)}`;
}

/** A proposal's states, the terminal ones last (kept in step with the `proposals` status check). */
export type ProposalStatus =
  | 'drafting'
  | 'validating'
  | 'testing'
  | 'reviewing'
  | 'awaiting_review'
  | 'applying'
  | 'applied'
  | 'rejected'
  | 'expired'
  | 'invalid'
  | 'failed_tests'
  | 'blocked'
  | 'ineligible'
  | 'apply_failed'
  | 'failed'
  /** ended from outside (cancelled, terminated or timed out in Temporal): frees its finding, counts as no open proposal */
  | 'cancelled';

export interface ProposalInput {
  proposalId: string;
  agentId: AgentId;
  /** the finding to fix, or a free-form goal (one of the two) */
  findingId?: string;
  goal?: string;
  trigger: 'api' | 'cycle';
  requestedBy?: string;
  /** Activity timeouts (ms) and the review timeout (ms; default PROPOSAL_REVIEW_TIMEOUT); tests pass short ones. */
  timeouts?: { llmMs?: number; scanMs?: number; dbMs?: number; reviewMs?: number; heartbeatMs?: number };
}

export interface ProposalResult {
  proposalId: string;
  status: ProposalStatus;
  reasons?: string[];
  branch?: string;
  commit?: string;
}

export const reviewInput = z.object({
  decision: z.enum(['approve', 'reject']),
  comment: z.string().trim().max(5000).nullable().optional(),
});

export interface ReviewInput {
  decision: 'approve' | 'reject';
  /** the API key's name */
  reviewer: string;
  comment?: string | null;
  /** when the API signed it (ISO 8601); a review older than PROPOSAL_REVIEW_MAX_AGE is refused */
  issuedAt: string;
  /** HMAC-SHA256 (hex) by the API over workflow id, decision, reviewer, comment and issuedAt (src/crypto/review-signature.ts) */
  signature: string;
}

/** Default for PROPOSAL_REVIEW_MAX_AGE (ms), used by workflows whose begin step predates the setting. */
export const DEFAULT_REVIEW_MAX_AGE_MS = 600_000;
/** How far in the future a review's issuedAt may be (clock skew between API and workers). */
export const REVIEW_CLOCK_SKEW_MS = 60_000;

/**
 * What is structurally wrong with a review (undefined: nothing): a decision, a reviewer, an issuedAt no older than
 * `maxAgeMs` before `nowMs` (nor beyond the clock skew after it) and a signature of the right form. Deterministic,
 * so the workflow's Update validator runs it on workflow time; the signature itself is checked by an activity.
 */
export function reviewShapeProblem(
  r: Partial<ReviewInput> | null | undefined,
  nowMs: number,
  maxAgeMs: number,
): string | undefined {
  if (r === null || typeof r !== 'object') return 'a review must be an object';
  if (r.decision !== 'approve' && r.decision !== 'reject') return 'decision must be approve or reject';
  if (typeof r.reviewer !== 'string' || r.reviewer.length === 0) return 'a review needs its reviewer';
  if (r.comment !== undefined && r.comment !== null && typeof r.comment !== 'string') return 'a comment must be text';
  if (typeof r.signature !== 'string' || r.signature === '')
    return 'the review is not signed: reviews are sent through the API (POST /api/proposals/:id/review), which signs them';
  if (!/^[0-9a-f]{64}$/.test(r.signature)) return 'the review signature is malformed';
  const issued =
    typeof r.issuedAt === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(r.issuedAt) ? Date.parse(r.issuedAt) : Number.NaN;
  if (Number.isNaN(issued)) return 'the review has no valid issuedAt';
  if (nowMs - issued > maxAgeMs)
    return `the review is stale: issued ${Math.round((nowMs - issued) / 1000)} s ago, more than the ${Math.round(maxAgeMs / 1000)} s allowed`;
  if (issued - nowMs > REVIEW_CLOCK_SKEW_MS) return 'the review was issued in the future';
  return undefined;
}

/** A review's comment as it is stored and compared: trimmed, null when there is none. */
export function normalizeComment(comment: string | null | undefined): string | null {
  const trimmed = comment?.trim() ?? '';
  return trimmed === '' ? null : trimmed;
}

/** Whether two reviews are the same decision by the same reviewer with the same comment (an idempotent repeat). */
export function sameReview(
  a: Pick<ReviewInput, 'decision' | 'reviewer' | 'comment'>,
  b: Pick<ReviewInput, 'decision' | 'reviewer' | 'comment'>,
): boolean {
  return (
    a.decision === b.decision &&
    a.reviewer === b.reviewer &&
    normalizeComment(a.comment) === normalizeComment(b.comment)
  );
}

/** What a review led to: the proposal's state once the decision has been carried out. */
export interface ReviewOutcome {
  proposalId: string;
  decision: 'approve' | 'reject';
  status: ProposalStatus;
  commit?: string;
  branch?: string;
  reason?: string;
}

/** A reviewer's decision on a proposal awaiting review; the validator refuses it in any other state. */
export const reviewUpdate = defineUpdate<ReviewOutcome, [ReviewInput]>('review');

/** The agent's draft: one unified diff with its title, rationale and risk. */
export const proposalDraftSchema = z.object({
  title: z.string().min(3).max(200),
  rationale: z.string().min(1).max(4000),
  risk: z.string().min(1).max(2000),
  diff: z.string().min(10).max(200_000),
});

/** Guardian's model review of a proposal's diff. */
export const diffReviewSchema = z.object({
  summary: z.string().min(1).max(2000),
  concerns: z
    .array(
      z.object({
        severity: z.enum(['low', 'medium', 'high', 'critical']),
        file: z.string().max(500).nullable(),
        message: z.string().min(1).max(2000),
      }),
    )
    .max(20),
});
