import type { ProposalInput, ProposalStatus } from '../../src/contracts';
import type { ActivityDeps } from '../deps';
import { applyProposal } from './apply';
import { testProposal, validateProposal } from './checks';
import { draftProposal } from './draft';
import { reviewSigningKey } from '../../src/crypto/review-signature';
import type { ReviewInput } from '../../src/contracts';
import {
  beginProposal,
  learnFromReview,
  notifyProposal,
  recordReview,
  refuseReview,
  transition,
  verifyReview,
} from './lifecycle';
import { guardianVerdict, modelReviewProposal, scanProposal } from './review';

type Review = Parameters<typeof learnFromReview>[2];

/** The proposal pipeline's steps (ARCHITECTURE §3.6), each idempotent on the proposal's stored state. */
export function createProposalActivities({
  orm,
  config,
  llm,
  sandbox,
}: Pick<ActivityDeps, 'orm' | 'config' | 'llm' | 'sandbox'>) {
  // Throws under NODE_ENV=production without a key: the worker refuses to start rather than take unsigned reviews.
  const signingKey = reviewSigningKey(config).key;
  return {
    proposalBegin: (input: ProposalInput & { workflowId: string }) => beginProposal({ orm, config }, input),
    proposalTransition: (
      proposalId: string,
      seq: number,
      state: ProposalStatus,
      detail?: string,
      data?: Record<string, unknown>,
    ) => transition(orm, proposalId, seq, state, detail, data),
    proposalDraft: (proposalId: string, draftNo: number, feedback: string | null) =>
      draftProposal({ orm, config, llm }, proposalId, draftNo, feedback),
    proposalValidate: (proposalId: string) => validateProposal({ orm, config }, proposalId),
    proposalTest: (proposalId: string) => testProposal({ orm, config, sandbox }, proposalId),
    proposalScan: (proposalId: string) => scanProposal({ orm, config }, proposalId),
    proposalModelReview: (proposalId: string) => modelReviewProposal({ orm, llm }, proposalId),
    proposalGuardianVerdict: (proposalId: string, modelUnavailable: string | null) =>
      guardianVerdict({ orm, config }, proposalId, modelUnavailable),
    proposalVerifyReview: async (workflowId: string, review: Partial<ReviewInput>) =>
      verifyReview({ config, signingKey }, workflowId, review),
    proposalRefuseReview: (
      proposalId: string,
      workflowId: string,
      seq: number,
      review: Partial<ReviewInput>,
      reason: string,
    ) => refuseReview(orm, proposalId, workflowId, seq, review, reason),
    proposalRecordReview: (proposalId: string, review: Review) => recordReview(orm, proposalId, review),
    proposalApply: (proposalId: string) => applyProposal({ orm, config }, proposalId),
    proposalLearn: (proposalId: string, review: Review) => learnFromReview(orm, proposalId, review),
    proposalNotify: (proposalId: string, kind: Parameters<typeof notifyProposal>[2]) =>
      notifyProposal(orm, proposalId, kind),
  };
}
