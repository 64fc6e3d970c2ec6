import { ApplicationFailure } from '@temporalio/activity';
import type { ActivityDeps } from '../deps';
import { isWeekStart, lastEndedWeekStart, weekHasEnded } from '../../src/domain/weeks';
import { computeWeeklyReport } from './figures';
import { notifyWeeklyReport } from './notify';

/** The weekly report's steps (ARCHITECTURE §3.7): which week, its figures, its one notification. */
export function createReportActivities({ orm, config }: Pick<ActivityDeps, 'orm' | 'config'>) {
  return {
    /**
     * The week to report: the one asked for, or the week that has just ended (the clock is read here, not in the
     * workflow). Throws non-retryable `InvalidReportWeek` for a date that is not a Monday or a week not yet over.
     */
    async weeklyReportWeek(weekStart?: string): Promise<string> {
      const now = new Date();
      if (weekStart === undefined) return lastEndedWeekStart(now);
      if (!isWeekStart(weekStart))
        throw ApplicationFailure.nonRetryable(`"${weekStart}" is not a Monday as YYYY-MM-DD`, 'InvalidReportWeek');
      if (!weekHasEnded(weekStart, now))
        throw ApplicationFailure.nonRetryable(`the week of ${weekStart} has not ended yet`, 'InvalidReportWeek');
      return weekStart;
    },
    weeklyReportFigures: (weekStart: string) => computeWeeklyReport({ orm, config }, weekStart),
    weeklyReportNotify: (report: Parameters<typeof notifyWeeklyReport>[1]) => notifyWeeklyReport(orm, report),
  };
}
