import { z } from 'zod';
import { reviewInput } from '../../../contracts';
import { PROPOSAL_STATES } from '../../../db/entities';
import { AGENT_IDS } from '../../../domain/agents';
import { paginationQuery } from '../../pagination';
import { text } from '../../text';

export const listProposalsQuery = paginationQuery.extend({
  status: z.enum(PROPOSAL_STATES).optional(),
  agent: z.enum(AGENT_IDS).optional(),
  findingId: z.uuid('must be a finding id').optional(),
});

/** A proposal is addressed by its id or by its workflow id. */
export const proposalIdParams = z.object({ id: text(255, { trim: false }).regex(/^[A-Za-z0-9_.:-]+$/, 'must be a proposal id or a workflow id') });

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
