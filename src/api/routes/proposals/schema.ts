import { z } from 'zod';
import { reviewInput } from '../../../contracts';
import { PROPOSAL_STATES } from '../../../db/entities';
import { AGENT_IDS } from '../../../domain/agents';
import { paginationQuery } from '../../pagination';
import { jsonObject, nullableTimestamp, pageOf, timestamp } from '../../responses';
import { text } from '../../text';

export const listProposalsQuery = paginationQuery.extend({
  status: z.enum(PROPOSAL_STATES).optional(),
  agent: z.enum(AGENT_IDS).optional(),
  findingId: z.uuid('must be a finding id').optional(),
});

/** A proposal is addressed by its id or by its workflow id. */
export const proposalIdParams = z.object({
  id: text(255, { trim: false }).regex(/^[A-Za-z0-9_.:-]+$/, 'must be a proposal id or a workflow id'),
});

/** An agent and exactly one of a free-form goal or an open finding to fix. */
export const createProposalBody = z
  .object({
    agentId: z.enum(AGENT_IDS),
    goal: text(2000).optional(),
    findingId: z.uuid('must be a finding id').optional(),
  })
  .strict()
  .superRefine((body, ctx) => {
    if (body.goal === undefined && body.findingId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['goal'], message: 'either goal or findingId is required' });
    } else if (body.goal !== undefined && body.findingId !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['findingId'], message: 'give either goal or findingId, not both' });
    }
  });

/** The review's comment is text like any other: a NUL is refused here (the contract's schema is shared with workflows). */
export const reviewBody = reviewInput.extend({ comment: text(5000, { min: 0 }).nullable().optional() }).strict();

/** A proposal in a list (`presentProposalSummary`): without the diff and the pipeline's reports. */
export const proposalSummaryResponse = z
  .object({
    id: z.uuid(),
    workflowId: z.string(),
    agentId: z.string(),
    findingId: z.string().nullable(),
    goal: z.string().nullable(),
    title: z.string().nullable(),
    status: z.enum(PROPOSAL_STATES),
    trigger: z.string(),
    requestedBy: z.string().nullable(),
    changedFiles: z.array(z.string()),
    changedLines: z.number().int(),
    branch: z.string().nullable(),
    commit: z.string().nullable(),
    guardianModelReview: z
      .enum(['passed', 'concerns', 'unavailable'])
      .nullable()
      .describe("Guardian's model review; null before it reviewed"),
    guardianModelReviewReason: z.string().nullable().describe('why the model review is unavailable'),
    createdAt: timestamp,
    updatedAt: timestamp,
    completedAt: nullableTimestamp,
  })
  .meta({ id: 'ProposalSummary' });

export const proposalPageResponse = pageOf(proposalSummaryResponse);

const report = jsonObject.nullable();

/** The whole proposal (`presentProposal`): the draft, every stage's report, the review and the timeline in order. */
export const proposalResponse = proposalSummaryResponse
  .extend({
    repositoryId: z.string().nullable(),
    rationale: z.string().nullable(),
    risk: z.string().nullable(),
    diff: z.string().nullable().describe('a unified diff'),
    diffHash: z.string().nullable(),
    drafts: z.number().int().describe('how many drafts the agent made'),
    baseCommit: z.string().nullable(),
    eligibility: report.describe("the agent's eligibility when the pipeline began"),
    validation: report,
    tests: report,
    guardianReview: report,
    review: z
      .object({
        decision: z.enum(['approve', 'reject']),
        reviewer: z.string(),
        comment: z.string().nullable(),
        at: z.string(),
      })
      .nullable(),
    error: z.string().nullable(),
    timeline: z.array(
      z.object({
        seq: z.number().int(),
        state: z.enum(PROPOSAL_STATES),
        detail: z.string().nullable(),
        data: jsonObject,
        at: timestamp,
      }),
    ),
  })
  .meta({ id: 'Proposal' });

/** `POST /proposals` (202). */
export const startedProposalResponse = z
  .object({ proposalId: z.uuid(), workflowId: z.string(), statusUrl: z.string(), proposalUrl: z.string() })
  .meta({ id: 'StartedProposal' });

/** A review's answer (`presentReviewOutcome`). */
export const reviewOutcomeResponse = z
  .object({
    proposalId: z.string(),
    decision: z.enum(['approve', 'reject']),
    status: z.enum(PROPOSAL_STATES),
    commit: z.string().nullable(),
    branch: z.string().nullable(),
    reason: z.string().nullable(),
  })
  .meta({ id: 'ReviewOutcome' });
