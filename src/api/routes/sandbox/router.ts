import Router from '@koa/router';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { Config } from '../../../config';
import { SANDBOX_EXPERIMENT_WORKFLOW } from '../../../contracts';
import { requireRole } from '../../middleware/auth';
import type { AppState } from '../../types';
import { getAgentRun, listAgentRuns, startAgentRun } from '../runs';

/** `/sandbox`: start an experiment (operator), list and read experiments (viewer). */
export function sandboxRouter(deps: { orm: MikroORM; temporal: Client; config: Config }): Router<AppState> {
  const { orm } = deps;
  const router = new Router<AppState>({ prefix: '/sandbox' });

  router.post(
    '/experiments',
    requireRole('operator'),
    startAgentRun(deps, {
      agentId: 'sandbox',
      workflowType: SANDBOX_EXPERIMENT_WORKFLOW,
      workflowId: 'sandbox-experiment',
      links: (workflowId) => ({ experimentUrl: `/api/sandbox/experiments/${workflowId}` }),
    }),
  );
  router.get('/experiments', requireRole('viewer'), listAgentRuns(orm, 'sandbox_experiment'));

  router.get('/experiments/:id', requireRole('viewer'), getAgentRun(orm, 'sandbox_experiment', 'experiment'));

  return router;
}
