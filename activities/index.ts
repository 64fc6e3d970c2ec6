import { createAgentActivities } from './agents.activities';
import { classifyDataErrors } from './classify';
import { createConquestActivities } from './conquest';
import { createCustodyActivities } from './custody';
import type { ActivityDeps } from './deps';
import { cancellableSandbox, withHeartbeats } from './heartbeat';
import { createExperimentActivities } from './experiments';
import { createGuardianActivities } from './guardian';
import { createLearningActivities } from './learning';
import { createProposalActivities } from './proposals';
import { createReportActivities } from './reports';
import { createReconcileActivities } from './reconcile.activities';
import { createRunActivities } from './runs.activities';
import { createLlmActivities } from './llm.activities';
import { createWebhookActivities } from './webhooks.activities';

export type { ActivityDeps } from './deps';

/**
 * Merges every area's activity factory into the one object the worker registers: data errors classified as permanent,
 * each activity heartbeating when its workflow set a heartbeat timeout, and a sandbox run it starts killed when it is
 * cancelled.
 */
export function createActivities(given: ActivityDeps) {
  const deps: ActivityDeps = { ...given, sandbox: cancellableSandbox(given.sandbox) };
  return withHeartbeats(
    classifyDataErrors({
      ...createAgentActivities(deps),
      ...createLlmActivities(deps),
      ...createCustodyActivities(deps),
      ...createRunActivities(deps),
      ...createGuardianActivities(deps),
      ...createConquestActivities(deps),
      ...createExperimentActivities(deps),
      ...createLearningActivities(deps),
      ...createProposalActivities(deps),
      ...createWebhookActivities(deps),
      ...createReportActivities(deps),
      ...createReconcileActivities(deps),
    }),
  );
}

export type Activities = ReturnType<typeof createActivities>;
