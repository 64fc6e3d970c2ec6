import { createAgentActivities } from './agents.activities';
import { classifyDataErrors } from './classify';
import { createConquestActivities } from './conquest';
import { createCustodyActivities } from './custody';
import type { ActivityDeps } from './deps';
import { createExperimentActivities } from './experiments';
import { createGuardianActivities } from './guardian';
import { createLearningActivities } from './learning';
import { createProposalActivities } from './proposals';
import { createReportActivities } from './reports';
import { createRunActivities } from './runs.activities';
import { createLlmActivities } from './llm.activities';
import { createWebhookActivities } from './webhooks.activities';

export type { ActivityDeps } from './deps';

/** Merges every area's activity factory into the one object the worker registers, data errors classified. */
export function createActivities(deps: ActivityDeps) {
  return classifyDataErrors({
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
  });
}

export type Activities = ReturnType<typeof createActivities>;
