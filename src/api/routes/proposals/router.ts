import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { z } from 'zod';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import type { Config } from '../../../config';
import {
  normalizeComment,
  PROPOSAL_WORKFLOW,
  proposalWorkflowId,
  reviewUpdate,
  sameReview,
  type ProposalInput,
  type ReviewInput,
  type ReviewOutcome,
} from '../../../contracts';
import { reviewSigningKey, signReview } from '../../../crypto/review-signature';
import { Finding, Proposal, ProposalEvent } from '../../../db/entities';
import { endClosedProposal, storeProposalRequest } from '../../../db/proposals';
import { readPage, sqlFilters } from '../../../db/read';
import { activityTimeouts } from '../../../temporal/activity-timeouts';
import { conflict, notFound, unauthorized } from '../../errors';
import { requireRole } from '../../middleware/auth';
import { doc } from '../../openapi/doc';
import { page } from '../../pagination';
import type { AppState } from '../../types';
import { parse } from '../../validate';
import { presentProposal, presentProposalSummary, presentReviewOutcome } from './presenter';
import {
  createProposalBody,
  listProposalsQuery,
  proposalIdParams,
  proposalPageResponse,
  proposalResponse,
  reviewBody,
  reviewOutcomeResponse,
  startedProposalResponse,
} from './schema';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `/proposals`: list and read proposals (viewer), request one (operator; stored before its workflow starts, a second
 * live one for a finding refused with 409; the pipeline decides eligibility and records a refusal on the row) and
 * review one awaiting review (operator; the workflow's `review` Update).
 */
export function proposalsRouter({
  orm,
  temporal,
  config,
}: {
  orm: MikroORM;
  temporal: Client;
  config: Config;
}): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/proposals' });
  const em = () => orm.em as EntityManager;
  // Throws under NODE_ENV=production without a key: the API refuses to start rather than send unsigned reviews.
  const signingKey = reviewSigningKey(config).key;

  const findProposal = async (id: string): Promise<Proposal> => {
    const proposal = await em().findOne(Proposal, UUID.test(id) ? { id } : { workflowId: id });
    if (proposal === null) throw notFound(`proposal "${id}"`);
    return proposal;
  };

  router.get(
    '/',
    doc({
      summary:
        "List proposals, newest first, each with Guardian's model review state (passed, concerns, unavailable with the reason)",
      role: 'viewer',
      query: listProposalsQuery,
      responses: { 200: { description: 'a page of proposals', schema: proposalPageResponse } },
    }),
    requireRole('viewer'),
    async (ctx) => {
      const q = parse(listProposalsQuery, ctx.query);
      const filters = sqlFilters([
        ['t.status', q.status],
        ['t.agent_id', q.agent],
        ['t.finding_id', q.findingId],
      ]);
      const { rows, total } = await readPage(orm, Proposal, {
        ...filters,
        orderBy: 't.created_at desc, t.id asc',
        limit: q.limit,
        offset: q.offset,
      });
      ctx.body = page(
        rows.map(({ item }) => presentProposalSummary(item)),
        total,
        q,
      );
    },
  );

  router.get(
    '/:id',
    doc({
      summary: 'Read one proposal (by id or workflow id): diff, validation, tests, guardian review and timeline',
      role: 'viewer',
      params: proposalIdParams,
      responses: { 200: { description: 'the proposal', schema: proposalResponse } },
    }),
    requireRole('viewer'),
    async (ctx) => {
      const { id } = parse(proposalIdParams, ctx.params);
      const proposal = await findProposal(id);
      const events = await em().find(ProposalEvent, { proposalId: proposal.id }, { orderBy: { seq: 'asc' } });
      ctx.body = presentProposal(proposal, events);
    },
  );

  router.post(
    '/',
    doc({
      summary: 'Request a proposal from an agent, for a goal or an open finding',
      role: 'operator',
      body: createProposalBody,
      responses: {
        202: {
          description: 'started: the proposal id, workflow id and their URLs (the proposal is recorded from now on)',
          schema: startedProposalResponse,
        },
      },
      errors: {
        404: 'no such finding',
        409: 'the finding is not open or already has a live proposal (`details` names it)',
      },
    }),
    requireRole('operator'),
    async (ctx) => {
      const body = parse(createProposalBody, ctx.request.body);
      if (body.findingId !== undefined) {
        const finding = await em().findOne(Finding, { id: body.findingId });
        if (finding === null) throw notFound(`finding "${body.findingId}"`);
        if (finding.status !== 'open')
          throw conflict(`finding ${finding.id} is ${finding.status}, not open`, { status: finding.status });
      }
      const proposalId = randomUUID();
      const workflowId = proposalWorkflowId(proposalId);
      const subject = body.findingId !== undefined ? { findingId: body.findingId } : { goal: body.goal };
      const input: ProposalInput = {
        proposalId,
        agentId: body.agentId,
        ...subject,
        trigger: 'api',
        requestedBy: ctx.state.auth?.name,
        timeouts: activityTimeouts(config),
      };
      ctx.state.auditTarget = `proposal:${proposalId}`;
      // Stored before the workflow starts: the proposal URL answers at once, and the begin step's verdict lands on it.
      const stored = await storeProposalRequest(em().fork(), { ...input, workflowId });
      if ('refused' in stored)
        throw conflict(
          stored.message,
          stored.live && { proposalId: stored.live.id, workflowId: stored.live.workflowId, status: stored.live.status },
        );
      try {
        await temporal.workflow.start(PROPOSAL_WORKFLOW, {
          taskQueue: config.temporal.taskQueue,
          workflowId,
          args: [input],
          workflowExecutionTimeout: `${config.workflowTimeouts.proposalSeconds}s`,
        });
      } catch (err) {
        await endClosedProposal(
          orm,
          proposalId,
          'failed',
          `the proposal workflow could not be started: ${(err as Error).message}`,
        );
        if (err instanceof WorkflowExecutionAlreadyStartedError)
          throw conflict(`workflow ${workflowId} is already running`, { workflowId });
        throw err;
      }
      ctx.status = 202;
      ctx.body = {
        proposalId,
        workflowId,
        statusUrl: `/api/workflows/${workflowId}`,
        proposalUrl: `/api/proposals/${proposalId}`,
      } satisfies z.infer<typeof startedProposalResponse>;
    },
  );

  router.post(
    '/:id/review',
    doc({
      summary: 'Approve or reject a proposal awaiting review',
      role: 'operator',
      params: proposalIdParams,
      body: reviewBody,
      responses: {
        200: {
          description: 'the review outcome (a repeat of the same review answers the same)',
          schema: reviewOutcomeResponse,
        },
      },
      errors: { 409: 'the proposal is not awaiting review, or its workflow is not running' },
    }),
    requireRole('operator'),
    async (ctx) => {
      const { id } = parse(proposalIdParams, ctx.params);
      const body = parse(reviewBody, ctx.request.body);
      const reviewer = ctx.state.auth?.name;
      if (reviewer === undefined) throw unauthorized();
      const proposal = await findProposal(id);
      ctx.state.auditTarget = `proposal:${proposal.id}`;
      const review: Pick<ReviewInput, 'decision' | 'reviewer' | 'comment'> = {
        decision: body.decision,
        reviewer,
        comment: normalizeComment(body.comment),
      };
      if (proposal.review !== null && sameReview(proposal.review, review)) {
        ctx.body = presentReviewOutcome({
          proposalId: proposal.id,
          decision: review.decision,
          status: proposal.status,
          commit: proposal.commit ?? undefined,
          branch: proposal.branch ?? undefined,
          reason: proposal.error ?? undefined,
        });
        return;
      }
      if (proposal.status !== 'awaiting_review')
        throw conflict(`proposal is ${proposal.status}, not awaiting_review`, { status: proposal.status });
      // Signed for this workflow, with the key's identity: the worker refuses any review without a valid, fresh signature.
      const signed = signReview(signingKey, {
        ...review,
        workflowId: proposalWorkflowId(proposal.id),
        issuedAt: new Date().toISOString(),
      });
      ctx.body = presentReviewOutcome(await sendReview(temporal, proposal.id, signed));
    },
  );

  return router;
}

/**
 * Sends the `review` Update and waits for its outcome. Throws a 409 when the validator refuses it (the proposal is no
 * longer awaiting review) or the workflow is gone or closed.
 */
async function sendReview(temporal: Client, proposalId: string, review: ReviewInput): Promise<ReviewOutcome> {
  try {
    return await temporal.workflow
      .getHandle(proposalWorkflowId(proposalId))
      .executeUpdate(reviewUpdate, { args: [review] });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw conflict(err.cause?.message ?? err.message);
    // The client turns gRPC NOT_FOUND (unknown or already closed workflow) into WorkflowNotFoundError.
    if (err instanceof WorkflowNotFoundError) throw conflict(`the workflow of proposal ${proposalId} is not running`);
    throw err;
  }
}
