import { loadConfig } from '../../src/config';
import { scheduleDefinitions } from '../../src/temporal/schedule-definitions';
import { toScheduleSpec } from '../../src/temporal/schedules';
import { activityTimeouts } from '../../src/temporal/activity-timeouts';

it('defines one custody exam schedule per agent at CUSTODY_TEST_INTERVAL on the default task queue', () => {
  const defs = scheduleDefinitions(loadConfig({ CUSTODY_TEST_INTERVAL: '1800', TEMPORAL_TASK_QUEUE: 'q' })).filter(
    (d) => d.id.startsWith('custody-'),
  );
  expect(defs.map((d) => d.id)).toEqual([
    'custody-imperium',
    'custody-guardian',
    'custody-sandbox',
    'custody-conquest',
  ]);
  for (const d of defs) {
    expect(d).toMatchObject({ workflowType: 'custodyExamWorkflow', intervalSeconds: 1800, taskQueue: 'q' });
    expect(d.args).toEqual([
      { agentId: d.id.replace('custody-', ''), trigger: 'schedule', timeouts: expect.any(Object) },
    ]);
  }
});

it('schedules the Guardian scan at GUARDIAN_SCAN_INTERVAL', () => {
  const scan = scheduleDefinitions(loadConfig({ GUARDIAN_SCAN_INTERVAL: '600' })).find((d) => d.id === 'guardian-scan');
  expect(scan).toMatchObject({
    workflowType: 'guardianScanWorkflow',
    intervalSeconds: 600,
    args: [{ trigger: 'schedule' }],
  });
});

it('schedules the Conquest analysis at CONQUEST_ANALYSIS_INTERVAL', () => {
  const analysis = scheduleDefinitions(loadConfig({ CONQUEST_ANALYSIS_INTERVAL: '900' })).find(
    (d) => d.id === 'conquest-analysis',
  );
  expect(analysis).toMatchObject({ workflowType: 'conquestAnalysisWorkflow', intervalSeconds: 900 });
});

it('schedules the Sandbox experiment at SANDBOX_EXPERIMENT_INTERVAL', () => {
  const experiment = scheduleDefinitions(loadConfig({ SANDBOX_EXPERIMENT_INTERVAL: '3600' })).find(
    (d) => d.id === 'sandbox-experiment',
  );
  expect(experiment).toMatchObject({ workflowType: 'sandboxExperimentWorkflow', intervalSeconds: 3600 });
});

it("schedules Imperium's learning cycle at IMPERIUM_LEARNING_INTERVAL with ids learning-cycle-<time>", () => {
  const cycle = scheduleDefinitions(loadConfig({ IMPERIUM_LEARNING_INTERVAL: '1200' })).find(
    (d) => d.id === 'learning-cycle',
  );
  expect(cycle).toMatchObject({
    workflowType: 'learningCycleWorkflow',
    intervalSeconds: 1200,
    workflowIdPrefix: 'learning-cycle',
    args: [{ trigger: 'schedule' }],
  });
});

it('schedules the weekly report on Mondays at 09:00 UTC, by calendar rather than interval', () => {
  const weekly = scheduleDefinitions(loadConfig({ TEMPORAL_TASK_QUEUE: 'q' })).find((d) => d.id === 'weekly-report');
  expect(weekly).toMatchObject({
    workflowType: 'weeklyReportWorkflow',
    taskQueue: 'q',
    args: [{ trigger: 'schedule' }],
    calendar: { dayOfWeek: 'MONDAY', hour: 9, minute: 0 },
  });
  expect(weekly?.intervalSeconds).toBeUndefined();
  expect(weekly && toScheduleSpec(weekly)).toEqual({
    calendars: [{ dayOfWeek: 'MONDAY', hour: 9, minute: 0, comment: weekly?.note }],
    timezone: 'UTC',
  });
});

it('gives every schedule exactly one of an interval and a calendar', () => {
  for (const def of scheduleDefinitions(loadConfig({}))) {
    expect([def.intervalSeconds, def.calendar].filter((v) => v !== undefined)).toHaveLength(1);
    const spec = toScheduleSpec(def);
    expect((spec.intervals?.length ?? 0) + (spec.calendars?.length ?? 0)).toBe(1);
  }
});

it('schedules the reconciler every RECONCILE_INTERVAL with its grace, and gives exams and runs an execution timeout', () => {
  const defs = scheduleDefinitions(
    loadConfig({
      RECONCILE_INTERVAL: '45',
      RECONCILE_GRACE: '10',
      WORKFLOW_TIMEOUT_EXAM: '5400',
      WORKFLOW_TIMEOUT_RUN: '7200',
    }),
  );
  expect(defs.find((d) => d.id === 'reconcile')).toMatchObject({
    workflowType: 'reconcileWorkflow',
    intervalSeconds: 45,
    args: [{ graceSeconds: 10 }],
    workflowIdPrefix: 'reconcile-scheduled',
  });
  expect(defs.find((d) => d.id === 'custody-guardian')?.executionTimeoutSeconds).toBe(5400);
  for (const id of ['guardian-scan', 'sandbox-experiment', 'conquest-analysis', 'learning-cycle'])
    expect(defs.find((d) => d.id === id)?.executionTimeoutSeconds).toBe(7200);
});

it('gives every scheduled run its activity timeouts from config (LLM_TIMEOUT_SECONDS, SANDBOX_TIMEOUT_SECONDS, …)', () => {
  const config = loadConfig({
    LLM_TIMEOUT_SECONDS: '10',
    SANDBOX_TIMEOUT_SECONDS: '20',
    TARGET_SETUP_TIMEOUT_SECONDS: '100',
    CONQUEST_BENCH_REPEATS: '4',
    ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS: '15',
  });
  const expected = {
    llmMs: 4 * 10_000 + 30_000,
    sandboxMs: 20_000 + 30_000,
    scanMs: 100_000 + 6 * 20_000 + 60_000,
    heartbeatMs: 15_000,
  };
  expect(activityTimeouts(config)).toEqual(expected);
  const defs = scheduleDefinitions(config).filter((d) => d.id !== 'weekly-report' && d.id !== 'reconcile');
  expect(defs.length).toBeGreaterThan(0);
  for (const d of defs) expect(d.args).toEqual([expect.objectContaining({ timeouts: expected })]);
});

it('never lets an LLM activity time out while its provider call may still run: start-to-close > every call of an attempt', () => {
  for (const seconds of [1, 60, 600]) {
    const { llmMs } = activityTimeouts(loadConfig({ LLM_TIMEOUT_SECONDS: String(seconds) }));
    // An attempt makes at most a call and its repair on the primary profile and on the fallback.
    expect(llmMs).toBeGreaterThan(4 * seconds * 1000);
  }
});

it('spreads the interval schedules over their intervals instead of firing all at the epoch-aligned instant', () => {
  const defs = scheduleDefinitions(loadConfig({}));
  const interval = defs.filter((d) => d.intervalSeconds !== undefined);
  const offsets = interval.map((d) => d.offsetSeconds ?? 0);
  // Each within its interval, all distinct fractions of it, and the same on every computation (every worker agrees).
  interval.forEach((d, i) => expect(offsets[i]).toBeLessThan(d.intervalSeconds ?? 0));
  expect(new Set(interval.map((d, i) => (offsets[i] ?? 0) / (d.intervalSeconds ?? 1))).size).toBe(interval.length);
  expect(scheduleDefinitions(loadConfig({})).map((d) => d.offsetSeconds)).toEqual(defs.map((d) => d.offsetSeconds));
  // The four hourly exams, once all at the top of the hour, start at least 5 minutes apart.
  const exams = interval
    .filter((d) => d.id.startsWith('custody-'))
    .map((d) => d.offsetSeconds ?? 0)
    .sort((a, b) => a - b);
  exams.slice(1).forEach((o, i) => expect(o - (exams[i] ?? 0)).toBeGreaterThanOrEqual(300));
  expect(defs.find((d) => d.id === 'weekly-report')?.offsetSeconds).toBeUndefined();
});
