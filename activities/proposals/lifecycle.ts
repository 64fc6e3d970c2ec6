import { raw, type EntityManager, type MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../../src/config';
import { normalizeComment, type ProposalInput, type ProposalStatus, type ReviewInput } from '../../src/contracts';
import { reviewSignatureProblem } from '../../src/crypto/review-signature';
import {
  Agent,
  AuditLog,
  Finding,
  KnowledgeNote,
  Proposal,
  ProposalEvent,
  TERMINAL_PROPOSAL_STATES,
} from '../../src/db/entities';
import { isLiveProposalConflict, liveProposalRefusal } from '../../src/db/proposals';
import { createNotification } from '../../src/notifications/create';
import { runTarget } from '../runs.activities';
import { isPermanentDataError } from '../../src/db/data-errors';
import { proposalModelReview, type ModelReviewOutcome } from '../../src/domain/guardian-review';
import { agentEligibility } from '../../src/db/eligibility';
import { loadProposal } from './shared';

/** XP for an approved proposal (ARCHITECTURE §3.6 step 8). */
export const APPROVAL_XP = 20;

export interface BeginOutcome {
  eligible: boolean;
  reasons: string[];
  reviewTimeoutMs: number;
  /** PROPOSAL_REVIEW_MAX_AGE in ms, for the review validator's check on workflow time */
  reviewMaxAgeMs?: number;
}

/**
 * Stores the proposal (keyed on its id: a retry finds it) — or adopts the one the API stored before starting the
 * workflow — and decides eligibility (ARCHITECTURE §3.1), adding the proposal's own preconditions: the finding
 * exists, is open and has no other live proposal. Returns the review timeout from config so the workflow's timer is
 * in its history. Throws non-retryable `target_unavailable` (the workflow records the proposal `failed`).
 */
export async function beginProposal(
  deps: { orm: MikroORM; config: Config },
  input: ProposalInput & { workflowId: string },
): Promise<BeginOutcome> {
  const em = deps.orm.em.fork() as EntityManager;
  const reviewTimeoutMs = deps.config.proposals.reviewTimeoutSeconds * 1000;
  const reviewMaxAgeMs = deps.config.proposals.reviewMaxAgeSeconds * 1000;
  let proposal = await em.findOne(Proposal, { id: input.proposalId });
  if (proposal === null) {
    // Started without the API (the learning cycle): the row is stored here.
    const { repo } = await runTarget(deps.orm, deps.config);
    proposal = new Proposal({
      id: input.proposalId,
      workflowId: input.workflowId,
      agentId: input.agentId,
      findingId: input.findingId ?? null,
      goal: input.goal ?? null,
      trigger: input.trigger,
      requestedBy: input.requestedBy ?? null,
    });
    proposal.repositoryId = repo.id;
    try {
      await em.persistAndFlush(proposal);
    } catch (err) {
      if (isLiveProposalConflict(err)) return refuseDuplicate(deps.orm, proposal, reviewTimeoutMs);
      if (!isPermanentDataError(err)) throw err;
      return refuseUnstorable(deps.orm, proposal, (err as Error).message, reviewTimeoutMs);
    }
  }
  if (proposal.eligibility !== null)
    return {
      eligible: proposal.eligibility.eligible === true,
      reasons: proposal.eligibility.reasons as string[],
      reviewTimeoutMs,
      reviewMaxAgeMs,
    };
  if (proposal.repositoryId === null) {
    // The row the API stored before starting the workflow: adopted, with the repository it works on.
    proposal.repositoryId = (await runTarget(deps.orm, deps.config)).repo.id;
    await em.flush();
  }

  const decision = await agentEligibility(em, input.agentId, deps.config.rules, proposal.id);
  const reasons = decision.eligible ? [] : [...decision.reasons];
  if (input.findingId !== undefined) {
    const finding = await em.findOne(Finding, { id: input.findingId });
    if (finding === null) reasons.push(`finding ${input.findingId} does not exist`);
    else if (finding.status !== 'open') reasons.push(`finding ${input.findingId} is ${finding.status}`);
    const live = await em.findOne(Proposal, {
      findingId: input.findingId,
      id: { $ne: proposal.id },
      status: { $nin: ['ineligible', 'failed', 'invalid', 'expired', 'cancelled'] },
    });
    if (live !== null) reasons.push(`finding ${input.findingId} already has proposal ${live.id} (${live.status})`);
  } else if ((input.goal ?? '').trim() === '') {
    reasons.push('a proposal needs a finding or a goal');
  }
  const eligible = reasons.length === 0;
  proposal.eligibility = {
    eligible,
    reasons: eligible ? decision.reasons : reasons,
    checks: decision.checks,
    openProposals: decision.openProposals,
  };
  await em.flush();
  return { eligible, reasons: eligible ? decision.reasons : reasons, reviewTimeoutMs, reviewMaxAgeMs };
}

/**
 * A request whose text the database refuses (a data error: retrying cannot help) is still recorded: the proposal is
 * stored without the offending text, ineligible with the database's reason, so the workflow ends it `ineligible`.
 */
async function refuseUnstorable(
  orm: MikroORM,
  refused: Proposal,
  message: string,
  reviewTimeoutMs: number,
): Promise<BeginOutcome> {
  const requestedBy = refused.requestedBy?.replaceAll('\u0000', '') ?? null;
  return storeRefusal(
    orm,
    { ...refused, goal: null, requestedBy },
    `the request could not be stored: ${message.slice(0, 500)}`,
    reviewTimeoutMs,
  );
}

/**
 * The loser of a race for one finding (the unique "one live proposal per finding" index refused it) is recorded
 * ineligible, naming the proposal that won, instead of failing or vanishing.
 */
async function refuseDuplicate(orm: MikroORM, refused: Proposal, reviewTimeoutMs: number): Promise<BeginOutcome> {
  const { message } = await liveProposalRefusal(orm.em.fork() as EntityManager, refused.findingId);
  return storeRefusal(orm, refused, message, reviewTimeoutMs);
}

/** Stores (or finds, on a retry) the refused proposal as ineligible with `reason`, outside the live-proposal index. */
async function storeRefusal(
  orm: MikroORM,
  refused: Pick<
    Proposal,
    'id' | 'workflowId' | 'agentId' | 'findingId' | 'goal' | 'trigger' | 'requestedBy' | 'repositoryId'
  >,
  reason: string,
  reviewTimeoutMs: number,
): Promise<BeginOutcome> {
  const em = orm.em.fork() as EntityManager;
  let proposal = await em.findOne(Proposal, { id: refused.id });
  if (proposal === null) {
    proposal = new Proposal({
      id: refused.id,
      workflowId: refused.workflowId,
      agentId: refused.agentId,
      findingId: refused.findingId,
      goal: refused.goal,
      trigger: refused.trigger,
      requestedBy: refused.requestedBy,
    });
    proposal.repositoryId = refused.repositoryId;
    proposal.status = 'ineligible';
    proposal.completedAt = new Date();
    proposal.eligibility = { eligible: false, reasons: [reason], checks: [], openProposals: null };
    await em.persistAndFlush(proposal);
  }
  const reasons = (proposal.eligibility?.reasons as string[] | undefined) ?? [reason];
  return { eligible: false, reasons, reviewTimeoutMs };
}

/**
 * One transition: a timeline row keyed on (proposal, seq) — a retry lands once — and the proposal's status; a terminal
 * state also sets `completedAt`, and a failing one the error.
 */
export async function transition(
  orm: MikroORM,
  proposalId: string,
  seq: number,
  state: ProposalStatus,
  detail?: string,
  data: Record<string, unknown> = {},
): Promise<void> {
  const em = orm.em.fork() as EntityManager;
  await em.transactional(async (tx) => {
    const existing = await tx.findOne(ProposalEvent, { proposalId, seq });
    if (existing !== null) return;
    tx.persist(new ProposalEvent({ proposalId, seq, state, detail: detail?.slice(0, 4000) ?? null, data }));
    const proposal = await loadProposal(tx, proposalId);
    proposal.status = state;
    if (TERMINAL_PROPOSAL_STATES.includes(state)) {
      proposal.completedAt = new Date();
      if (state !== 'applied' && state !== 'rejected' && detail !== undefined) proposal.error = detail.slice(0, 4000);
    }
  });
}

/** The proposal's notifications (awaiting review, applied, expired), once each. */
export async function notifyProposal(
  orm: MikroORM,
  proposalId: string,
  kind: 'proposal_awaiting_review' | 'proposal_applied' | 'proposal_expired',
): Promise<void> {
  const em = orm.em.fork() as EntityManager;
  const p = await loadProposal(em, proposalId);
  const what = p.title ?? p.goal ?? 'a change';
  const modelReview = proposalModelReview(p.guardianReview);
  const text = {
    proposal_awaiting_review: {
      title: `Proposal awaiting review: ${what}`,
      message: `${p.agentId} proposes "${what}" (${p.changedLines} changed lines in ${p.changedFiles.join(', ')}); tests pass; ${guardianSays(modelReview)} Review: POST /api/proposals/${p.id}/review`,
      priority: 'high' as const,
    },
    proposal_applied: {
      title: `Proposal applied: ${what}`,
      message: `Committed as ${p.commit?.slice(0, 12)} on ${p.branch}.`,
      priority: 'normal' as const,
    },
    proposal_expired: {
      title: `Proposal expired: ${what}`,
      message: `Nobody reviewed ${p.agentId}'s proposal in time; it expired unapplied.`,
      priority: 'low' as const,
    },
  }[kind];
  const data = {
    proposalId: p.id,
    agentId: p.agentId,
    findingId: p.findingId,
    branch: p.branch,
    commit: p.commit,
    guardianModelReview: modelReview?.state ?? null,
  };
  await createNotification(em, { kind, ...text, data, dedupeKey: `${kind}:${p.id}` });
}

/** What Guardian's review means for the reviewer: a model review that never happened is said, never passed off as one. */
function guardianSays(modelReview: ModelReviewOutcome | null): string {
  switch (modelReview?.state) {
    case 'passed':
      return "Guardian's scanners and model review found nothing blocking.";
    case 'concerns':
      return `Guardian did not block it, but its model review raised ${modelReview.concerns} non-blocking concern(s) — read them in the proposal.`;
    default:
      return `Guardian's scanners found nothing blocking, but Guardian's model review was unavailable: ${modelReview?.reason ?? 'not recorded'} — review it yourself.`;
  }
}

/**
 * The review's lesson (ARCHITECTURE §3.6 step 8): +20 xp on approval; the reviewer's comment becomes a knowledge note
 * for the agent either way. Once per proposal (`learnedAt`), in one transaction.
 */
export async function learnFromReview(
  orm: MikroORM,
  proposalId: string,
  review: { decision: 'approve' | 'reject'; reviewer: string; comment?: string | null },
): Promise<{ xp: number; noteId: string | null }> {
  return (orm.em.fork() as EntityManager).transactional(async (tx) => {
    // The key: only the attempt that sets learned_at learns; a retry or a concurrent attempt finds it set.
    const claimed = await tx.nativeUpdate(Proposal, { id: proposalId, learnedAt: null }, { learnedAt: new Date() });
    if (claimed === 0) {
      await loadProposal(tx, proposalId);
      return { xp: 0, noteId: null };
    }
    const p = await loadProposal(tx, proposalId);
    p.review ??= {
      decision: review.decision,
      reviewer: review.reviewer,
      comment: normalizeComment(review.comment),
      at: new Date().toISOString(),
    };
    let xp = 0;
    if (review.decision === 'approve') {
      // Relative, never read-modify-write: an exam finishing meanwhile (which locks the row) keeps its XP. The level
      // is not moved here: as for every XP change, the level gate decides it at the agent's next exam (§3.1).
      await tx.nativeUpdate(Agent, { id: p.agentId as Agent['id'] }, { xp: raw('xp + ?', [APPROVAL_XP]) });
      xp = APPROVAL_XP;
    }
    let noteId: string | null = null;
    const comment = review.comment?.trim();
    if (comment) {
      const verdict = review.decision === 'approve' ? 'approved' : 'rejected';
      const note = new KnowledgeNote({
        agentId: p.agentId,
        category: null,
        title: `Reviewer ${verdict} "${p.title ?? p.goal ?? 'a proposal'}"`.slice(0, 300),
        body: `${review.reviewer} ${verdict} the proposal "${p.title ?? ''}" (${p.changedFiles.join(', ') || 'no files'}): ${comment}`,
        sources: [
          { kind: 'proposal', ref: p.id },
          { kind: 'review', ref: review.reviewer },
          ...(p.findingId ? [{ kind: 'finding', ref: p.findingId }] : []),
        ],
      });
      tx.persist(note);
      noteId = note.id;
    }
    return { xp, noteId };
  });
}

/** Stores the reviewer's decision on the proposal as soon as it arrives (before it is carried out). */
export async function recordReview(
  orm: MikroORM,
  proposalId: string,
  review: { decision: 'approve' | 'reject'; reviewer: string; comment?: string | null },
): Promise<void> {
  const em = orm.em.fork() as EntityManager;
  const p = await loadProposal(em, proposalId);
  if (p.review !== null) return;
  p.review = {
    decision: review.decision,
    reviewer: review.reviewer,
    comment: normalizeComment(review.comment),
    at: new Date().toISOString(),
  };
  await em.flush();
}

export type ReviewVerdict = { accepted: true } | { accepted: false; reason: string };

/**
 * Checks a `review` Update before the workflow takes it (ARCHITECTURE §3.6 step 6): the API's signature over this
 * workflow, decision, reviewer and comment, and its age against PROPOSAL_REVIEW_MAX_AGE on this worker's clock.
 */
export function verifyReview(
  deps: { config: Config; signingKey: Buffer },
  workflowId: string,
  review: Partial<ReviewInput>,
): ReviewVerdict {
  const problem = reviewSignatureProblem(
    deps.signingKey,
    workflowId,
    review,
    Date.now(),
    deps.config.proposals.reviewMaxAgeSeconds * 1000,
  );
  return problem === undefined ? { accepted: true } : { accepted: false, reason: problem };
}

/**
 * Records a refused review: a timeline row (`seq`, from the workflow; the proposal's state unchanged) with the reason
 * and what the review claimed, and an audit row — once, however often the activity is retried.
 */
export async function refuseReview(
  orm: MikroORM,
  proposalId: string,
  workflowId: string,
  seq: number,
  review: Partial<ReviewInput>,
  reason: string,
): Promise<void> {
  const text = (v: unknown, max: number) => (typeof v === 'string' ? v.replaceAll('\u0000', '').slice(0, max) : null);
  const claimed = {
    decision: text(review?.decision, 20),
    reviewer: text(review?.reviewer, 200),
    issuedAt: text(review?.issuedAt, 40),
  };
  await (orm.em.fork() as EntityManager).transactional(async (tx) => {
    if ((await tx.findOne(ProposalEvent, { proposalId, seq })) !== null) return;
    const p = await loadProposal(tx, proposalId);
    const detail = `refused a review (${claimed.decision ?? 'no decision'} claimed by ${claimed.reviewer ?? 'nobody'}): ${reason}`;
    tx.persist(
      new ProposalEvent({
        proposalId,
        seq,
        state: p.status,
        detail: detail.slice(0, 4000),
        data: { reviewRefused: true, reason, claimed },
      }),
    );
    tx.persist(
      new AuditLog({
        actorKeyId: null,
        actorName: null,
        actorRole: null,
        keyPrefix: null,
        method: 'UPDATE',
        path: `temporal:${workflowId}/review`,
        action: 'proposal.review_refused',
        target: `proposal:${proposalId}`,
        status: 403,
        ip: null,
        userAgent: null,
        requestId: `${workflowId}#${seq}`.slice(0, 64),
      }),
    );
  });
}
