import Router from '@koa/router';
import type { z } from 'zod';
import { raw } from '@mikro-orm/core';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Config } from '../../../config';
import { WEEKLY_REPORT_WORKFLOW, weeklyReportWorkflowId, type WeeklyReportInput } from '../../../contracts';
import { Notification } from '../../../db/entities';
import { lastEndedWeekStart } from '../../../domain/weeks';
import { conflict } from '../../errors';
import { requireRole } from '../../middleware/auth';
import { doc } from '../../openapi/doc';
import { page } from '../../pagination';
import type { AppState } from '../../types';
import { parse } from '../../validate';
import {
  listWeeklyReportsQuery,
  startedWeeklyReportResponse,
  startWeeklyReportBody,
  weeklyReportPageResponse,
} from './schema';

/** `/reports/weekly`: start a week's report (operator); the stored reports, newest week first (viewer). */
export function reportsRouter({
  orm,
  temporal,
  config,
}: {
  orm: MikroORM;
  temporal: Client;
  config: Config;
}): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/reports' });

  router.post(
    '/weekly',
    doc({
      summary: 'Start the weekly report of a week (default: the week that has just ended)',
      role: 'operator',
      body: startWeeklyReportBody,
      responses: {
        202: {
          description: 'started: the workflow id, its status URL and the week',
          schema: startedWeeklyReportResponse,
        },
      },
      errors: { 409: 'that week’s report is running' },
    }),
    requireRole('operator'),
    async (ctx) => {
      const { weekStart = lastEndedWeekStart(new Date()) } = parse(startWeeklyReportBody, ctx.request.body);
      const workflowId = weeklyReportWorkflowId(weekStart);
      const input: WeeklyReportInput = { weekStart, trigger: 'api', requestedBy: ctx.state.auth?.name };
      ctx.state.auditTarget = `workflow:${workflowId}`;
      try {
        await temporal.workflow.start(WEEKLY_REPORT_WORKFLOW, {
          taskQueue: config.temporal.taskQueue,
          workflowId,
          args: [input],
        });
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError)
          throw conflict(`the report of the week of ${weekStart} is already running`, { workflowId });
        throw err;
      }
      ctx.status = 202;
      ctx.body = { workflowId, statusUrl: `/api/workflows/${workflowId}`, weekStart } satisfies z.infer<
        typeof startedWeeklyReportResponse
      >;
    },
  );

  router.get(
    '/weekly',
    doc({
      summary: 'The stored weekly reports (the `weekly_report` notifications’ figures), newest week first',
      role: 'viewer',
      query: listWeeklyReportsQuery,
      responses: { 200: { description: 'a page of reports', schema: weeklyReportPageResponse } },
    }),
    requireRole('viewer'),
    async (ctx) => {
      const q = parse(listWeeklyReportsQuery, ctx.query);
      const [rows, total] = await (orm.em as EntityManager).findAndCount(
        Notification,
        { kind: 'weekly_report' },
        {
          orderBy: { [raw(`data->>'weekStart'`)]: 'desc', createdAt: 'desc', id: 'asc' },
          limit: q.limit,
          offset: q.offset,
        },
      );
      ctx.body = page(rows.map(presentReport), total, q);
    },
  );

  return router;
}

/** A stored report: the notification's figures as written, with where they came from. */
function presentReport(n: Notification): z.infer<typeof weeklyReportPageResponse>['items'][number] {
  return {
    notificationId: n.id,
    weekStart: typeof n.data.weekStart === 'string' ? n.data.weekStart : null,
    createdAt: n.createdAt.toISOString(),
    message: n.message,
    report: n.data,
  };
}
