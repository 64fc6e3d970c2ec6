import { executeChild, setHandler, workflowInfo } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  progressQuery,
  weeklyReportWorkflowId,
  type WeeklyReportInput,
  type WeeklyReportResult,
  type WorkflowProgress,
} from '../src/contracts';
import { proxyByKind } from './queues';

/**
 * The weekly report (ARCHITECTURE §3.7): the week (the one asked for, else the one that has just ended) → its figures
 * from the database (tokens and cost per agent and provider against budgets, exams, level-ups, proposals by outcome,
 * agent runs) → one `weekly_report` notification, deduplicated per week so a re-run never notifies twice.
 *
 * Every week's report runs as `weekly-report-<Monday>`. A scheduled run (Temporal names it after the schedule's
 * time) hands the week over to a child with that id, so the API's 409 and the Temporal UI see one id per week.
 */
export async function weeklyReportWorkflow(input: WeeklyReportInput): Promise<WeeklyReportResult> {
  const t = { dbMs: 60_000, ...input.timeouts };
  const db = proxyByKind({ startToCloseTimeout: t.dbMs, retry: { initialInterval: '2 seconds', maximumAttempts: 10 } });

  const progress: WorkflowProgress = { step: 'week', state: 'running', completedSteps: [] };
  setHandler(progressQuery, () => progress);
  const enter = (step: string, detail?: Record<string, unknown>) => {
    progress.completedSteps.push(progress.step);
    progress.step = step;
    if (detail) progress.detail = { ...progress.detail, ...detail };
  };
  const done = (result: WeeklyReportResult): WeeklyReportResult => {
    enter('done', { status: result.status });
    progress.state = 'completed';
    return result;
  };

  try {
    const weekStart = await db.weeklyReportWeek(input.weekStart);
    const workflowId = weeklyReportWorkflowId(weekStart);
    progress.detail = { weekStart, workflowId };

    if (workflowInfo().workflowId !== workflowId) {
      enter('handover');
      try {
        return done(await executeChild(weeklyReportWorkflow, { workflowId, args: [{ ...input, weekStart }] }));
      } catch (err) {
        // The week's report is already being made (started through the API): that run is the report.
        if (err instanceof WorkflowExecutionAlreadyStartedError)
          return done({ weekStart, workflowId, status: 'already_running' });
        throw err;
      }
    }

    enter('figures');
    const report = await db.weeklyReportFigures(weekStart);
    enter('notify', {
      calls: report.tokens.total.calls,
      costUsd: report.tokens.total.costUsd,
      examsTaken: report.exams.taken,
    });
    const notified = await db.weeklyReportNotify(report);
    return done({
      weekStart,
      workflowId,
      status: 'completed',
      notificationId: notified.notificationId,
      notificationCreated: notified.created,
      report,
    });
  } catch (err) {
    progress.state = 'failed';
    throw err;
  }
}
