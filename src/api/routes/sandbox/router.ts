import Router from '@koa/router';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { Config } from '../../../config';
import { SANDBOX_EXPERIMENT_WORKFLOW } from '../../../contracts';
import { AgentRun } from '../../../db/entities';
import { notFound } from '../../errors';
import { requireRole } from '../../middleware/auth';
import type { AppState } from '../../types';
import { parse } from '../../validate';
import { listAgentRuns, startAgentRun } from '../runs';
import { presentRun } from '../runs.presenter';

const idParams = z.object({ id: z.string().min(1).max(255).regex(/^[A-Za-z0-9_.:-]+$/, 'must be a run id or a workflow id') });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `/sandbox`: start an experiment (operator), list and read experiments (viewer). */
export function sandboxRouter(deps: { orm: MikroORM; temporal: Client; config: Config }): Router<AppState> {
  const { orm } = deps;
  const router = new Router<AppState>({ prefix: '/sandbox' });
  const em = () => orm.em as EntityManager;

  router.post(
    '/experiments',
    requireRole('operator'),
    startAgentRun(deps, {
      agentId: 'sandbox',
      workflowType: SANDBOX_EXPERIMENT_WORKFLOW,
      idKind: 'sandbox-experiment',
      links: (workflowId) => ({ experimentUrl: `/api/sandbox/experiments/${workflowId}` }),
    }),
  );
  router.get('/experiments', requireRole('viewer'), listAgentRuns(orm, 'sandbox_experiment'));

  router.get('/experiments/:id', requireRole('viewer'), async (ctx) => {
    const { id } = parse(idParams, ctx.params);
    const run = await em().findOne(AgentRun, { kind: 'sandbox_experiment', ...(UUID.test(id) ? { id } : { workflowId: id }) });
    if (run === null) throw notFound(`experiment "${id}"`);
    ctx.body = presentRun(run);
  });

  return router;
}
