/**
 * Guardian's review of a proposal (ARCHITECTURE §3.6 step 5), pure: what the scanners and the model found, whether it
 * blocks, and what a reviewer is told about the model's part — a review that never happened is said, never a pass.
 */

const BLOCKING = new Set(['high', 'critical']);

/** What the verdict reads of a scanner finding the patch introduces in a changed file. */
export type ReviewScanFinding = {
  tool: string;
  severity: string;
  title: string;
  file: string | null;
  line: number | null;
};

/** The model's review as stored on the proposal, or why there is none. */
export type ModelReview =
  | {
      summary: string;
      concerns: Array<{ severity: string; file: string | null; message: string }>;
      provider: string;
      model: string;
    }
  | { unavailable: string };

/** `passed`: the model reviewed the diff and named no concern; `concerns`: it named some; `unavailable`: it never reviewed it. */
export const MODEL_REVIEW_STATES = ['passed', 'concerns', 'unavailable'] as const;
export type ModelReviewState = (typeof MODEL_REVIEW_STATES)[number];

/** The model review's state, with the reason when it was unavailable and how many concerns it named. */
export interface ModelReviewOutcome {
  state: ModelReviewState;
  reason: string | null;
  concerns: number;
}

/** The state of a stored model review; null while Guardian has not reviewed the proposal. */
export function modelReviewOutcome(model: ModelReview | undefined): ModelReviewOutcome | null {
  if (model === undefined) return null;
  if ('unavailable' in model) return { state: 'unavailable', reason: model.unavailable, concerns: 0 };
  return { state: model.concerns.length > 0 ? 'concerns' : 'passed', reason: null, concerns: model.concerns.length };
}

/** The model review's state read from a proposal's stored Guardian review (its `model` entry). */
export function proposalModelReview(guardianReview: Record<string, unknown> | null): ModelReviewOutcome | null {
  return modelReviewOutcome(guardianReview?.model as ModelReview | undefined);
}

/**
 * Guardian's verdict: a new high/critical scanner finding in a changed file, or a high/critical concern of the model,
 * blocks; so does an unavailable model review when `requireModelReview` (PROPOSAL_REQUIRE_MODEL_REVIEW) is on —
 * otherwise the scanners alone gate and the proposal goes on marked `unavailable`.
 */
export function guardianVerdict(
  newFindings: readonly ReviewScanFinding[],
  model: ModelReview | undefined,
  requireModelReview: boolean,
): { blocked: boolean; reasons: string[] } {
  const reasons = newFindings
    .filter((f) => BLOCKING.has(f.severity))
    .map((f) => `${f.severity} ${f.tool} finding in ${f.file}${f.line ? `:${f.line}` : ''}: ${f.title}`);
  if (model !== undefined && 'unavailable' in model) {
    if (requireModelReview)
      reasons.push(
        `Guardian's model review was unavailable and PROPOSAL_REQUIRE_MODEL_REVIEW is on: ${model.unavailable}`,
      );
  } else if (model !== undefined) {
    reasons.push(
      ...model.concerns
        .filter((c) => BLOCKING.has(c.severity))
        .map((c) => `${c.severity} concern${c.file ? ` in ${c.file}` : ''}: ${c.message}`),
    );
  }
  return { blocked: reasons.length > 0, reasons };
}
