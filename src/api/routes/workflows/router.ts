import Router from '@koa/router';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { z } from 'zod';
import { progressQuery, type WorkflowProgress } from '../../../contracts';
import { notFound } from '../../errors';
import { requireRole } from '../../middleware/auth';
import type { AppState } from '../../types';
import { parse } from '../../validate';

const params = z.object({ id: z.string().min(1).max(255).regex(/^[A-Za-z0-9_.:-]+$/, 'must be a workflow id') });
const QUERY_TIMEOUT_MS = 3000;

/** `/workflows/:id`: Temporal's status of any workflow plus its `progress` query (viewer). */
export function workflowsRouter({ temporal }: { temporal: Client }): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/workflows' });

  router.get('/:id', requireRole('viewer'), async (ctx) => {
    const { id } = parse(params, ctx.params);
    const handle = temporal.workflow.getHandle(id);
    let description;
    try {
      description = await handle.describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw notFound(`workflow "${id}"`);
      throw err;
    }
    // A query needs a worker; a closed or stuck workflow still has its status.
    const progress = await Promise.race([
      handle.query(progressQuery).catch(() => null),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), QUERY_TIMEOUT_MS).unref()),
    ]);
    ctx.body = {
      workflowId: description.workflowId,
      runId: description.runId,
      type: description.type,
      status: description.status.name,
      taskQueue: description.taskQueue,
      startTime: description.startTime.toISOString(),
      closeTime: description.closeTime?.toISOString() ?? null,
      historyLength: description.historyLength,
      progress: progress as WorkflowProgress | null,
    };
  });

  return router;
}
