import Router from '@koa/router';
import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription, type WorkflowExecutionStatusName, type WorkflowHandle } from '@temporalio/client';
import { z } from 'zod';
import { progressQuery, type WorkflowProgress } from '../../../contracts';
import type { Logger } from '../../../logger';
import { notFound } from '../../errors';
import { requireRole } from '../../middleware/auth';
import { doc } from '../../openapi/doc';
import { openSse, sseHeartbeatMs, type SseStream } from '../../sse';
import type { AppState } from '../../types';
import { parse } from '../../validate';
import { workflowResponse } from './schema';
import { text } from '../../text';

export const workflowIdParams = z.object({ id: text(255, { trim: false }).regex(/^[A-Za-z0-9_.:-]+$/, 'must be a workflow id') });

const QUERY_TIMEOUT_MS = 3000;
const EVENTS_POLL_MS = 400;
const TERMINAL: ReadonlySet<WorkflowExecutionStatusName> = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT']);

/**
 * `/workflows/:id`: Temporal's status of any workflow plus its `progress` query, once or as a stream of Server-Sent
 * Events until the workflow ends (viewer).
 */
export function workflowsRouter({ temporal, logger }: { temporal: Client; logger: Logger }): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/workflows' });
  const heartbeatMs = sseHeartbeatMs();
  const log = logger.child({ component: 'workflow-events' });

  router.get('/:id', doc({ summary: "Read a workflow's Temporal status and its progress", role: 'viewer', params: workflowIdParams, responses: { 200: { description: 'the status and the `progress` query (null when no worker answers)', schema: workflowResponse } } }), requireRole('viewer'), async (ctx) => {
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
  });

  router.get(
    '/:id/events',
    doc({
      summary: "Stream a workflow's progress until it ends (Server-Sent Events)",
      role: 'viewer',
      params: workflowIdParams,
      stream: true,
      responses: { 200: { description: '`progress` events `{status, progress}` (as in a `Workflow`) whenever either changes, then one `end` event with the terminal status and the last progress; `: ping` comments in between' } },
    }),
    requireRole('viewer'),
    async (ctx) => {
      const { id } = parse(workflowIdParams, ctx.params);
      const handle = temporal.workflow.getHandle(id);
      await describeWorkflow(handle, id); // an unknown workflow is a JSON 404, before any streaming
      const stream = openSse(ctx, { heartbeatMs });
      void followWorkflow(temporal, handle, stream, log);
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

/**
 * Polls the workflow until it ends or the client leaves: a `progress` event whenever status or progress changed, then
 * `end` with the terminal status and the last progress known, then closes. A failing poll is retried on the next tick
 * (heartbeats keep the connection meanwhile) and logged once per run of failures.
 */
async function followWorkflow(temporal: Client, handle: WorkflowHandle, stream: SseStream, log: Logger): Promise<void> {
  let progress: WorkflowProgress | null = null;
  let sent = '';
  let failing = false;
  while (!stream.closed) {
    try {
      const { status } = await handle.describe();
      progress = (await queryProgress(temporal, handle)) ?? progress;
      failing = false;
      const update = { status: status.name, progress };
      if (TERMINAL.has(status.name)) {
        stream.send('end', update);
        stream.close();
        return;
      }
      const serialized = JSON.stringify(update);
      if (serialized !== sent) {
        stream.send('progress', update);
        sent = serialized;
      }
    } catch (err) {
      if (!failing) log.warn('cannot read the workflow for its event stream; retrying', { workflowId: handle.workflowId, err: String(err) });
      failing = true;
    }
    await pause(EVENTS_POLL_MS, stream.signal);
  }
}

/** Waits `ms`, or less when `signal` aborts first. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
