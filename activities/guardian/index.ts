import type { ActivityDeps } from '../deps';
import { scanTarget } from './scan';
import { notifyFindings, triageFindings } from './triage';

/** Guardian's scan steps (ARCHITECTURE §3.3), each idempotent on the run's stored state. */
export function createGuardianActivities({ orm, llm, config }: Pick<ActivityDeps, 'orm' | 'llm' | 'config'>) {
  return {
    guardianScan: (runId: string) => scanTarget({ orm, config }, runId),
    guardianTriage: (runId: string, findingIds: string[]) => triageFindings({ orm, llm }, runId, findingIds),
    guardianNotify: (findingIds: string[]) => notifyFindings(orm, findingIds),
  };
}
