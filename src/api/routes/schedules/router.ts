import Router, { type RouterContext } from '@koa/router';
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import type { z } from 'zod';
import type { Config } from '../../../config';
import { scheduleDefinitions } from '../../../temporal/schedule-definitions';
import { notFound } from '../../errors';
import { requireRole } from '../../middleware/auth';
import { doc } from '../../openapi/doc';
import type { AppState } from '../../types';
import { parse } from '../../validate';
import { scheduleActionBody, scheduleActionResponse, scheduleIdParams, schedulesResponse } from './schema';

/** `/schedules`: the recurring workflows (viewer); pause, unpause and trigger them (operator). */
export function schedulesRouter({ temporal, config }: { temporal: Client; config: Config }): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/schedules' });
  const definitions = () => scheduleDefinitions(config);
  const handleOf = (id: string) => {
    if (!definitions().some((d) => d.id === id)) throw notFound(`schedule "${id}"`);
    return temporal.schedule.getHandle(id);
  };

  router.get(
    '/',
    doc({
      summary: 'The recurring workflows with their state, next and recent runs',
      role: 'viewer',
      responses: { 200: { description: 'the schedules', schema: schedulesResponse } },
    }),
    requireRole('viewer'),
    async (ctx) => {
      const items: z.infer<typeof schedulesResponse>['items'] = [];
      for (const def of definitions()) {
        try {
          const d = await temporal.schedule.getHandle(def.id).describe();
          items.push({
            id: def.id,
            workflowType: def.workflowType,
            intervalSeconds: def.intervalSeconds ?? null,
            calendar: def.calendar ?? null,
            note: def.note,
            exists: true,
            paused: d.state.paused,
            pauseNote: d.state.note ?? null,
            nextRuns: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
            recentRuns: d.info.recentActions
              .slice(-5)
              .map((a) => ({ at: a.takenAt.toISOString(), workflowId: a.action.workflow.workflowId })),
          });
        } catch (err) {
          if (!(err instanceof ScheduleNotFoundError)) throw err;
          items.push({
            id: def.id,
            workflowType: def.workflowType,
            intervalSeconds: def.intervalSeconds ?? null,
            calendar: def.calendar ?? null,
            note: def.note,
            exists: false,
            paused: null,
            pauseNote: null,
            nextRuns: [],
            recentRuns: [],
          });
        }
      }
      ctx.body = { items } satisfies z.infer<typeof schedulesResponse>;
    },
  );

  const act = (action: 'pause' | 'unpause' | 'trigger') =>
    async function (ctx: RouterContext<AppState>) {
      const { id } = parse(scheduleIdParams, ctx.params);
      const { reason } = parse(scheduleActionBody, ctx.request.body);
      ctx.state.auditTarget = `schedule:${id}`;
      const handle = handleOf(id);
      const note = reason ?? `${action}d by ${ctx.state.auth?.name ?? 'unknown'} through the API`;
      try {
        if (action === 'pause') await handle.pause(note);
        else if (action === 'unpause') await handle.unpause(note);
        else await handle.trigger();
      } catch (err) {
        if (err instanceof ScheduleNotFoundError) throw notFound(`schedule "${id}" (the worker creates it at start)`);
        throw err;
      }
      ctx.body = { id, action, done: true } satisfies z.infer<typeof scheduleActionResponse>;
    };
  const actDoc = (summary: string) =>
    doc({
      summary,
      role: 'operator',
      params: scheduleIdParams,
      body: scheduleActionBody,
      responses: { 200: { description: 'the action was done', schema: scheduleActionResponse } },
    });
  router.post('/:id/pause', actDoc('Pause a schedule'), requireRole('operator'), act('pause'));
  router.post('/:id/unpause', actDoc('Unpause a schedule'), requireRole('operator'), act('unpause'));
  router.post('/:id/trigger', actDoc("Trigger a schedule's workflow now"), requireRole('operator'), act('trigger'));
  return router;
}
