import type { Config } from '../config';
import {
  CONQUEST_ANALYSIS_WORKFLOW,
  CUSTODY_EXAM_WORKFLOW,
  GUARDIAN_SCAN_WORKFLOW,
  LEARNING_CYCLE_WORKFLOW,
  RECONCILE_WORKFLOW,
  SANDBOX_EXPERIMENT_WORKFLOW,
  WEEKLY_REPORT_WORKFLOW,
  type AgentRunInput,
  type CustodyExamInput,
  type LearningCycleInput,
  type ReconcileInput,
  type WeeklyReportInput,
} from '../contracts';
import { AGENT_IDS } from '../domain/agents';
import { activityTimeouts } from './activity-timeouts';
import type { ScheduleDefinition } from './schedules';

/**
 * Every recurring workflow (ARCHITECTURE §3.8), with its interval from config. Each workflow's issue adds its entry
 * here when the workflow exists: custody exams, the learning cycle, scans, experiments, analyses, the weekly report.
 */
export function scheduleDefinitions(config: Config): ScheduleDefinition[] {
  // Activity timeouts from config; a changed LLM_TIMEOUT_SECONDS reaches runs the schedule starts after the next sync.
  const timeouts = activityTimeouts(config);
  // One exam schedule per agent; a paused agent's scheduled exam is stored as skipped by the workflow.
  const custody = AGENT_IDS.map((agentId): ScheduleDefinition => {
    const input: CustodyExamInput = { agentId, trigger: 'schedule', timeouts };
    return {
      id: `custody-${agentId}`,
      workflowType: CUSTODY_EXAM_WORKFLOW,
      args: [input],
      taskQueue: config.temporal.taskQueue,
      intervalSeconds: config.intervals.custodyTest,
      workflowIdPrefix: `custody-${agentId}-scheduled`,
      executionTimeoutSeconds: config.workflowTimeouts.examSeconds,
      note: `custody exam of ${agentId} every CUSTODY_TEST_INTERVAL`,
    };
  });
  // The agents' own work: one schedule each, runs named `<id>-scheduled-<time>`.
  const scheduled: AgentRunInput = { trigger: 'schedule', timeouts };
  const agentWork = (
    [
      [
        'guardian-scan',
        GUARDIAN_SCAN_WORKFLOW,
        config.intervals.guardianScan,
        'Guardian security scan every GUARDIAN_SCAN_INTERVAL',
      ],
      [
        'conquest-analysis',
        CONQUEST_ANALYSIS_WORKFLOW,
        config.intervals.conquestAnalysis,
        'Conquest performance analysis every CONQUEST_ANALYSIS_INTERVAL',
      ],
      [
        'sandbox-experiment',
        SANDBOX_EXPERIMENT_WORKFLOW,
        config.intervals.sandboxExperiment,
        'Sandbox experiment every SANDBOX_EXPERIMENT_INTERVAL',
      ],
    ] as const
  ).map(
    ([id, workflowType, intervalSeconds, note]): ScheduleDefinition => ({
      id,
      workflowType,
      args: [scheduled],
      taskQueue: config.temporal.taskQueue,
      intervalSeconds,
      workflowIdPrefix: `${id}-scheduled`,
      note,
      executionTimeoutSeconds: config.workflowTimeouts.runSeconds,
    }),
  );
  const cycle: LearningCycleInput = { trigger: 'schedule', timeouts };
  const learningCycle: ScheduleDefinition = {
    id: 'learning-cycle',
    workflowType: LEARNING_CYCLE_WORKFLOW,
    args: [cycle],
    taskQueue: config.temporal.taskQueue,
    intervalSeconds: config.intervals.imperiumLearning,
    // Temporal appends the scheduled time: `learning-cycle-<iso-time>`, the id the API gives an on-demand cycle too.
    workflowIdPrefix: 'learning-cycle',
    executionTimeoutSeconds: config.workflowTimeouts.runSeconds,
    note: "Imperium's learning cycle (with a scan, an experiment and an analysis as children) every IMPERIUM_LEARNING_INTERVAL",
  };
  const weekly: WeeklyReportInput = { trigger: 'schedule' };
  const weeklyReport: ScheduleDefinition = {
    id: 'weekly-report',
    workflowType: WEEKLY_REPORT_WORKFLOW,
    args: [weekly],
    taskQueue: config.temporal.taskQueue,
    calendar: { dayOfWeek: 'MONDAY', hour: 9, minute: 0 },
    // The run hands the week over to `weekly-report-<Monday>`, the id the API gives an on-demand report too.
    workflowIdPrefix: 'weekly-report-scheduled',
    note: 'Weekly report of the week just ended, Mondays 09:00 UTC',
  };
  // Ends the rows of workflows closed without ending them (terminated, timed out) within one period.
  const reconcileInput: ReconcileInput = { graceSeconds: config.reconcile.graceSeconds };
  const reconcile: ScheduleDefinition = {
    id: 'reconcile',
    workflowType: RECONCILE_WORKFLOW,
    args: [reconcileInput],
    taskQueue: config.temporal.taskQueue,
    intervalSeconds: config.intervals.reconcile,
    workflowIdPrefix: 'reconcile-scheduled',
    note: 'Reconciler: ends exams, proposals and runs whose workflow closed in Temporal, every RECONCILE_INTERVAL',
    executionTimeoutSeconds: config.intervals.reconcile * 5,
  };
  return spreadOffsets([...custody, learningCycle, ...agentWork, weeklyReport, reconcile]);
}

/**
 * Gives the interval schedules offsets spread evenly over their intervals, in list order: the i-th of n starts i/n of
 * its interval past the epoch-aligned point. Without them every interval fires at the same instants (the top of the
 * hour held four exams, the cycle with its three children, a scan and an analysis on the same cores). The order of
 * the list is fixed, so every worker computes the same offsets and a re-sync changes nothing.
 */
export function spreadOffsets(definitions: ScheduleDefinition[]): ScheduleDefinition[] {
  const n = definitions.filter((d) => d.intervalSeconds !== undefined).length;
  let i = 0;
  return definitions.map((d) =>
    d.intervalSeconds === undefined ? d : { ...d, offsetSeconds: Math.floor((i++ * d.intervalSeconds) / n) },
  );
}
