import { z } from 'zod';
import { isWeekStart, weekHasEnded } from '../../../domain/weeks';
import { paginationQuery } from '../../pagination';

/** A report week: its Monday as `YYYY-MM-DD` (UTC), and a week that is over (a running week would give a partial report). */
export const reportWeekStart = z.iso.date('must be a date as YYYY-MM-DD').pipe(
  z.string().superRefine((day, ctx) => {
    if (!isWeekStart(day)) ctx.addIssue({ code: 'custom', message: 'must be a Monday (the first day of a report week)' });
    else if (!weekHasEnded(day, new Date())) ctx.addIssue({ code: 'custom', message: 'must be a week that has ended, not the current or a future one' });
  }),
);

export const startWeeklyReportBody = z.object({ weekStart: reportWeekStart.optional() }).strict().default({});

export const listWeeklyReportsQuery = paginationQuery;
