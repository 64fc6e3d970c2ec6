/** The weekly report (ARCHITECTURE §3.7): workflow id, input, the figures it computes and its result. */
export const WEEKLY_REPORT_WORKFLOW = 'weeklyReportWorkflow';

/** One id per report week, whoever starts it: `weekly-report-<Monday as YYYY-MM-DD>`. */
export function weeklyReportWorkflowId(weekStart: string): string {
  return `weekly-report-${weekStart}`;
}

/** The dedupe key of the week's `weekly_report` notification: a re-run of a week never notifies twice. */
export function weeklyReportDedupeKey(weekStart: string): string {
  return `weekly_report:${weekStart}`;
}

export interface WeeklyReportInput {
  /** The Monday (`YYYY-MM-DD`, UTC) the week starts on; default: the week that has just ended. */
  weekStart?: string;
  trigger: 'schedule' | 'api';
  requestedBy?: string;
  /** Activity timeout (ms); tests pass short ones. */
  timeouts?: { dbMs?: number };
}

/** Ledger totals over the week (cache hits cost nothing and count as calls). */
export interface ReportUsage {
  calls: number;
  cacheHits: number;
  inputTokens: number;
  outputTokens: number;
  tokens: number;
  /** A lower bound when `unknownCostCalls` > 0 (calls to models with no known price add nothing). */
  costUsd: number;
  /** Calls whose cost is unknown (absent from reports made before it was counted). */
  unknownCostCalls?: number;
}

/** A monthly budget in force for one month the week touches, with what that whole month has used so far. */
export interface ReportBudget {
  month: string;
  monthlyTokens: number | null;
  monthlyUsd: number | null;
  usedTokens: number;
  usedUsd: number;
  /** percentages of the limit; null when there is no limit */
  usedTokensPct: number | null;
  usedUsdPct: number | null;
}

export interface ReportExams {
  /** graded exams (passed + failed) completed in the week */
  taken: number;
  passed: number;
  failed: number;
  /** runs that could not finish (no provider, unusable examiner output): not taken */
  errored: number;
  /** passed / taken in percent; null when none was taken */
  passRate: number | null;
}

export interface WeeklyReport {
  weekStart: string;
  /** the Monday after: the window is [weekStart, weekEnd) UTC */
  weekEnd: string;
  generatedAt: string;
  tokens: {
    /** the budget months the week touches (two when it straddles a month's end) */
    months: string[];
    total: ReportUsage & { budgets: ReportBudget[] };
    /** every agent, and `null` for calls made for no agent in particular */
    byAgent: Array<ReportUsage & { agentId: string | null; budgets: ReportBudget[] }>;
    byProvider: Array<ReportUsage & { provider: string; budgets: ReportBudget[] }>;
    byModel: Array<ReportUsage & { model: string }>;
  };
  exams: ReportExams & { byAgent: Array<ReportExams & { agentId: string }> };
  /** from the exams' stored outcomes (the level is only ever changed there), in order */
  levelUps: Array<{
    agentId: string;
    examId: string;
    category: string;
    levelBefore: number;
    levelAfter: number;
    at: string;
  }>;
  /** proposals that reached a terminal state in the week, by that state */
  proposals: { completed: number; byOutcome: Record<string, number> };
  /** agent runs (learning cycles, scans, experiments, analyses) started in the week, by kind and status */
  runs: { total: number; byKind: Array<{ kind: string; total: number; byStatus: Record<string, number> }> };
}

export interface WeeklyReportResult {
  weekStart: string;
  /** the workflow that produced the report: this one, or the week's own when a scheduled run handed over */
  workflowId: string;
  status: 'completed' | 'already_running';
  notificationId?: string;
  /** false when the week's notification already existed (a re-run) */
  notificationCreated?: boolean;
  report?: WeeklyReport;
}
