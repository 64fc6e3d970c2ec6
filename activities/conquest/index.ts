import type { ActivityDeps } from '../deps';
import { measureTarget } from './measure';

/** Conquest's analysis steps (ARCHITECTURE §3.5), idempotent on the run's stored state. */
export function createConquestActivities({ orm, config, sandbox }: Pick<ActivityDeps, 'orm' | 'config' | 'sandbox'>) {
  return {
    conquestMeasure: (runId: string) => measureTarget({ orm, config, sandbox }, runId),
  };
}
