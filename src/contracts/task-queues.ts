import type { Activities } from '../../activities';

/**
 * The kinds of work, each on its own task queue so that a worker can poll any subset with its own concurrency cap:
 * `workflows` (the workflows themselves and the light database steps) on the base queue (TEMPORAL_TASK_QUEUE, `lvlup`),
 * `llm` (steps that call a model) on `<base>-llm`, `sandbox` (steps that run target code, installs, scanners or git
 * work on the target) on `<base>-sandbox`.
 */
export const QUEUE_KINDS = ['workflows', 'llm', 'sandbox'] as const;
export type QueueKind = (typeof QUEUE_KINDS)[number];

/**
 * Each kind's task queue for a base queue. Workflows derive it from their own queue (`workflowInfo().taskQueue`), so a
 * test worker on a queue of its own gets its kind queues too.
 */
export function activityQueues(base: string): Record<QueueKind, string> {
  return { workflows: base, llm: `${base}-llm`, sandbox: `${base}-sandbox` };
}

/**
 * The kinds named in a comma list (`workflows,llm`; case and spaces ignored, repeats dropped; empty means all three),
 * or undefined when it names anything else.
 */
export function parseQueueKinds(list: string): QueueKind[] | undefined {
  const named = [
    ...new Set(
      list
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean),
    ),
  ];
  if (named.length === 0) return [...QUEUE_KINDS];
  return named.every((k): k is QueueKind => (QUEUE_KINDS as readonly string[]).includes(k)) ? named : undefined;
}

/** A step routed by the exam item it works on: a code item's hidden tests run in the sandbox, an open one is judged by a model. */
type ByItemKind = { code: QueueKind; open: QueueKind };

/**
 * The one classification of every activity by the kind of work it does (a unit test and the type check make sure no
 * activity is left out). The worker registers an activity on the queue of its kind; workflows route to that queue.
 */
export const ACTIVITY_QUEUE_KINDS = {
  getAgentSnapshot: 'workflows',
  beginAgentRun: 'workflows',
  finishAgentRun: 'workflows',
  runIdOf: 'workflows',
  llmComplete: 'llm',

  custodyPlan: 'workflows',
  custodyGenerateItems: 'llm',
  custodyAnswerItem: 'llm',
  custodyGradeItem: { code: 'sandbox', open: 'llm' },
  custodyFinish: 'workflows',
  custodyRecordFailure: 'workflows',
  custodyCancel: 'workflows',

  guardianScan: 'sandbox',
  guardianTriage: 'llm',
  guardianNotify: 'workflows',

  conquestMeasure: 'sandbox',
  conquestExplain: 'llm',

  // The experiment asks its model for a test and runs it on the same worktree: sandbox work that also calls a model.
  sandboxRunTests: 'sandbox',
  sandboxExperiment: 'sandbox',

  cyclePlan: 'llm',
  cyclePlanWithoutModel: 'workflows',
  cycleStudy: 'llm',
  recordCycleStep: 'workflows',
  cycleAnalytics: 'workflows',
  cycleProposalCandidates: 'workflows',
  notifyCycle: 'workflows',

  proposalBegin: 'workflows',
  proposalTransition: 'workflows',
  proposalDraft: 'llm',
  proposalValidate: 'sandbox',
  proposalTest: 'sandbox',
  proposalScan: 'sandbox',
  proposalModelReview: 'llm',
  proposalGuardianVerdict: 'workflows',
  proposalVerifyReview: 'workflows',
  proposalRefuseReview: 'workflows',
  proposalRecordReview: 'workflows',
  proposalApply: 'sandbox',
  proposalLearn: 'workflows',
  proposalNotify: 'workflows',

  deliverWebhook: 'workflows',
  markWebhookFailed: 'workflows',
  weeklyReportWeek: 'workflows',
  weeklyReportFigures: 'workflows',
  weeklyReportNotify: 'workflows',
  reconcileEndings: 'workflows',
} as const satisfies Record<keyof Activities, QueueKind | ByItemKind>;

export type ActivityName = keyof typeof ACTIVITY_QUEUE_KINDS;

/** The classification of `name`; undefined for a name outside it (a test's own activity). */
function classified(name: string): QueueKind | ByItemKind | undefined {
  return Object.hasOwn(ACTIVITY_QUEUE_KINDS, name) ? ACTIVITY_QUEUE_KINDS[name as ActivityName] : undefined;
}

/**
 * The kinds whose workers register activity `name`: its kind, both kinds of a step routed by item, and `workflows` for
 * a name outside the classification (a test's own activity stays on the workflow's queue).
 */
export function queueKindsOf(name: string): QueueKind[] {
  const kind = classified(name) ?? 'workflows';
  return typeof kind === 'string' ? [kind] : [...new Set(Object.values(kind))];
}

/**
 * The queue kind a call of activity `name` goes to; `itemKind` (`code` or `open`) decides for a step routed by the
 * exam item it works on. A name outside the classification stays on the workflow's queue.
 */
export function queueKindOf(name: string, itemKind?: string): QueueKind {
  const kind = classified(name) ?? 'workflows';
  if (typeof kind === 'string') return kind;
  return itemKind === 'code' ? kind.code : kind.open;
}
