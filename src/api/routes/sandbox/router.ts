import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { Config } from '../../../config';
import { agentRunWorkflowId, SANDBOX_EXPERIMENT_WORKFLOW, type AgentRunInput } from '../../../contracts';
import { Agent, AgentRun, AGENT_RUN_STATUSES } from '../../../db/entities';
import { conflict, notFound } from '../../errors';
import { requireRole } from '../../middleware/auth';
import { page, paginationQuery } from '../../pagination';
import type { AppState } from '../../types';
import { parse } from '../../validate';
import { presentRun } from '../runs.presenter';

const listQuery = paginationQuery.extend({ status: z.enum(AGENT_RUN_STATUSES).optional() });
const idParams = z.object({ id: z.string().min(1).max(255).regex(/^[A-Za-z0-9_.:-]+$/, 'must be a run id or a workflow id') });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `/sandbox`: start an experiment (operator), list and read experiments (viewer). */
export function sandboxRouter({ orm, temporal, config }: { orm: MikroORM; temporal: Client; config: Config }): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/sandbox' });
  const em = () => orm.em as EntityManager;

  router.post('/experiments', requireRole('operator'), async (ctx) => {
    const agent = await em().findOneOrFail(Agent, { id: 'sandbox' });
    if (agent.status === 'paused') throw conflict('agent sandbox is paused');
    const workflowId = agentRunWorkflowId('sandbox-experiment', randomUUID());
    const input: AgentRunInput = { trigger: 'api', requestedBy: ctx.state.auth?.name };
    await temporal.workflow.start(SANDBOX_EXPERIMENT_WORKFLOW, { taskQueue: config.temporal.taskQueue, workflowId, args: [input] });
    ctx.state.auditTarget = `workflow:${workflowId}`;
    ctx.status = 202;
    ctx.body = { workflowId, statusUrl: `/api/workflows/${workflowId}`, experimentUrl: `/api/sandbox/experiments/${workflowId}` };
  });

  router.get('/experiments', requireRole('viewer'), async (ctx) => {
    const q = parse(listQuery, ctx.query);
    const [runs, total] = await em().findAndCount(AgentRun, { kind: 'sandbox_experiment', ...(q.status && { status: q.status }) }, { orderBy: { startedAt: 'desc', id: 'asc' }, limit: q.limit, offset: q.offset });
    ctx.body = page(runs.map(presentRun), total, q);
  });

  router.get('/experiments/:id', requireRole('viewer'), async (ctx) => {
    const { id } = parse(idParams, ctx.params);
    const run = await em().findOne(AgentRun, { kind: 'sandbox_experiment', ...(UUID.test(id) ? { id } : { workflowId: id }) });
    if (run === null) throw notFound(`experiment "${id}"`);
    ctx.body = presentRun(run);
  });

  return router;
}
