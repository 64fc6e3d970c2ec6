import Router from '@koa/router';
import {
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowExecutionStatusName,
  type WorkflowHandle,
} from '@temporalio/client';
import { z } from 'zod';
import { progressQuery, type WorkflowProgress } from '../../../contracts';
import type { Logger } from '../../../logger';
import { notFound } from '../../errors';
import { requireRole } from '../../middleware/auth';
import { doc } from '../../openapi/doc';
import type { SseStreams } from '../../sse';
import type { AppState } from '../../types';
import { parse } from '../../validate';
import { workflowResponse } from './schema';
import { text } from '../../text';
import { WorkflowWatchers } from './watchers';

export const workflowIdParams = z.object({
  id: text(255, { trim: false }).regex(/^[A-Za-z0-9_.:-]+$/, 'must be a workflow id'),
});

const QUERY_TIMEOUT_MS = 3000;
const EVENTS_POLL_MS = 400;
const TERMINAL: ReadonlySet<WorkflowExecutionStatusName> = new Set([
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'TERMINATED',
  'TIMED_OUT',
]);

const allWatchers = new Set<WorkflowWatchers<WorkflowProgress>>();

/** How many workflow poll loops run in this process (one per followed workflow, however many streams); for tests. */
export function workflowPollersRunning(): number {
  return [...allWatchers].reduce((n, w) => n + w.running, 0);
}

/**
 * `/workflows/:id`: Temporal's status of any workflow plus its `progress` query, once or as a stream of Server-Sent
 * Events until the workflow ends (viewer). The streams of one workflow share one poll loop.
 */
export function workflowsRouter({
  temporal,
  logger,
  streams,
}: {
  temporal: Client;
  logger: Logger;
  streams: SseStreams;
}): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/workflows' });
  const watchers = new WorkflowWatchers<WorkflowProgress>({
    read: async (id) => {
      const handle = temporal.workflow.getHandle(id);
      const { status } = await handle.describe();
      return { status: status.name, progress: await queryProgress(temporal, handle) };
    },
    terminal: (status) => TERMINAL.has(status as WorkflowExecutionStatusName),
    pollMs: EVENTS_POLL_MS,
    logger: logger.child({ component: 'workflow-events' }),
  });
  allWatchers.add(watchers);

  router.get(
    '/:id',
    doc({
      summary: "Read a workflow's Temporal status and its progress",
      role: 'viewer',
      params: workflowIdParams,
      responses: {
        200: {
          description: 'the status and the `progress` query (null when no worker answers)',
          schema: workflowResponse,
        },
      },
    }),
    requireRole('viewer'),
    async (ctx) => {
      const { id } = parse(workflowIdParams, ctx.params);
      const handle = temporal.workflow.getHandle(id);
      const description = await describeWorkflow(handle, id);
      const progress = await queryProgress(temporal, handle);
      ctx.body = {
        workflowId: description.workflowId,
        runId: description.runId,
        type: description.type,
        status: description.status.name,
        taskQueue: description.taskQueue,
        startTime: description.startTime.toISOString(),
        closeTime: description.closeTime?.toISOString() ?? null,
        historyLength: description.historyLength,
        progress,
      } satisfies z.infer<typeof workflowResponse>;
    },
  );

  router.get(
    '/:id/events',
    doc({
      summary: "Stream a workflow's progress until it ends (Server-Sent Events)",
      role: 'viewer',
      params: workflowIdParams,
      stream: true,
      responses: {
        200: {
          description:
            '`progress` events `{status, progress}` (as in a `Workflow`) whenever either changes, then one `end` event with the terminal status and the last progress; `: ping` comments in between',
        },
      },
    }),
    requireRole('viewer'),
    async (ctx) => {
      const { id } = parse(workflowIdParams, ctx.params);
      const release = streams.reserve(ctx); // a 429 past SSE_MAX_STREAMS_PER_KEY / SSE_MAX_STREAMS
      try {
        await describeWorkflow(temporal.workflow.getHandle(id), id); // an unknown workflow is a JSON 404, before any streaming
      } catch (err) {
        release();
        throw err;
      }
      const stream = streams.open(ctx, release);
      const unsubscribe = watchers.subscribe(id, {
        progress: (update) => stream.send('progress', update),
        end: (update) => {
          stream.send('end', update);
          stream.close();
        },
      });
      stream.onClose(unsubscribe);
    },
  );

  return router;
}

/** Temporal's description of the workflow's latest run. Throws a 404 for an unknown workflow. */
async function describeWorkflow(handle: WorkflowHandle, id: string): Promise<WorkflowExecutionDescription> {
  try {
    return await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw notFound(`workflow "${id}"`);
    throw err;
  }
}

/** The workflow's `progress` query, or null when it cannot answer within 3 s (a query needs a worker; a closed or stuck workflow still has its status). */
async function queryProgress(temporal: Client, handle: WorkflowHandle): Promise<WorkflowProgress | null> {
  try {
    return await temporal.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => handle.query(progressQuery));
  } catch {
    return null;
  }
}
