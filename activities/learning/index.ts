import type { ActivityDeps } from '../deps';
import { createCycleActivities } from './cycle';
import { planCycle, planCycleWithoutModel } from './plan';
import { studyForCycle, type StudyInput } from './study';

/** Imperium's learning cycle steps (ARCHITECTURE §3.2), idempotent on the cycle's stored state. */
export function createLearningActivities({ orm, llm, config }: Pick<ActivityDeps, 'orm' | 'llm' | 'config'>) {
  return {
    ...createCycleActivities({ orm, rules: config.rules }),
    cyclePlan: (runId: string) => planCycle({ orm, llm, rules: config.rules }, runId),
    cyclePlanWithoutModel: (runId: string, reason: string) =>
      planCycleWithoutModel({ orm, rules: config.rules }, runId, reason),
    cycleStudy: (input: StudyInput) => studyForCycle({ orm, llm }, input),
  };
}
