import type { ActivityDeps } from '../deps';
import { createCycleActivities } from './cycle';
import { planCycle, planCycleWithoutModel } from './plan';
import { studyForCycle, type StudyInput } from './study';

/** Imperium's learning cycle steps (ARCHITECTURE §3.2), idempotent on the cycle's stored state. */
export function createLearningActivities({ orm, llm }: Pick<ActivityDeps, 'orm' | 'llm'>) {
  return {
    ...createCycleActivities({ orm }),
    cyclePlan: (runId: string) => planCycle({ orm, llm }, runId),
    cyclePlanWithoutModel: (runId: string, reason: string) => planCycleWithoutModel(orm, runId, reason),
    cycleStudy: (input: StudyInput) => studyForCycle({ orm, llm }, input),
  };
}
