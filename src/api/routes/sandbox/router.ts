import Router from '@koa/router';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { Config } from '../../../config';
import { SANDBOX_EXPERIMENT_WORKFLOW } from '../../../contracts';
import { requireRole } from '../../middleware/auth';
import { doc } from '../../openapi/doc';
import type { AppState } from '../../types';
import { getAgentRun, listAgentRuns, startAgentRun } from '../runs';
import {
  listRunsQuery,
  runIdParams,
  runPageResponse,
  runResponse,
  startedRunResponse,
  startRunConflict,
} from '../runs.schema';

/** `/sandbox`: start an experiment (operator), list and read experiments (viewer). */
export function sandboxRouter(deps: { orm: MikroORM; temporal: Client; config: Config }): Router<AppState> {
  const { orm } = deps;
  const router = new Router<AppState>({ prefix: '/sandbox' });

  router.post(
    '/experiments',
    doc({
      summary: 'Start a Sandbox experiment',
      role: 'operator',
      responses: {
        202: {
          description:
            'started: the run id (the run is recorded from now on), the workflow id, its status URL and the experiment URL',
          schema: startedRunResponse,
        },
      },
      errors: { 409: startRunConflict },
    }),
    requireRole('operator'),
    startAgentRun(deps, {
      agentId: 'sandbox',
      kind: 'sandbox_experiment',
      workflowType: SANDBOX_EXPERIMENT_WORKFLOW,
      workflowId: 'sandbox-experiment',
      links: (workflowId) => ({ experimentUrl: `/api/sandbox/experiments/${workflowId}` }),
    }),
  );
  router.get(
    '/experiments',
    doc({
      summary: 'List Sandbox experiments, newest first',
      role: 'viewer',
      query: listRunsQuery,
      responses: { 200: { description: 'a page of experiments', schema: runPageResponse } },
    }),
    requireRole('viewer'),
    listAgentRuns(orm, 'sandbox_experiment'),
  );

  router.get(
    '/experiments/:id',
    doc({
      summary: 'Read one experiment (by id or workflow id)',
      role: 'viewer',
      params: runIdParams,
      responses: { 200: { description: 'the experiment', schema: runResponse } },
    }),
    requireRole('viewer'),
    getAgentRun(orm, 'sandbox_experiment', 'experiment'),
  );

  return router;
}
