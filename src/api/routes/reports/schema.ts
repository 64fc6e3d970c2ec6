import { z } from 'zod';
import { isWeekStart, weekHasEnded } from '../../../domain/weeks';
import { paginationQuery } from '../../pagination';
import { jsonObject, pageOf, timestamp } from '../../responses';

/** A report week: its Monday as `YYYY-MM-DD` (UTC), and a week that is over (a running week would give a partial report). */
export const reportWeekStart = z.iso.date('must be a date as YYYY-MM-DD').pipe(
  z.string().superRefine((day, ctx) => {
    if (!isWeekStart(day))
      ctx.addIssue({ code: 'custom', message: 'must be a Monday (the first day of a report week)' });
    else if (!weekHasEnded(day, new Date()))
      ctx.addIssue({ code: 'custom', message: 'must be a week that has ended, not the current or a future one' });
  }),
);

export const startWeeklyReportBody = z.object({ weekStart: reportWeekStart.optional() }).strict().default({});

export const listWeeklyReportsQuery = paginationQuery;

/** `POST /reports/weekly` (202). */
export const startedWeeklyReportResponse = z.object({
  workflowId: z.string(),
  statusUrl: z.string(),
  weekStart: z.iso.date().describe('the Monday of the week'),
});

/** A stored report: the `weekly_report` notification's figures as written. */
export const weeklyReportPageResponse = pageOf(
  z.object({
    notificationId: z.uuid(),
    weekStart: z.string().nullable(),
    createdAt: timestamp,
    message: z.string(),
    report: jsonObject.describe("the week's figures as the report workflow wrote them"),
  }),
);
