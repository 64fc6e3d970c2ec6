import type { ActivityDeps } from '../deps';
import { explainMeasurement } from './explain';
import { measureTarget } from './measure';

/** Conquest's analysis steps (ARCHITECTURE §3.5), idempotent on the run's stored state. */
export function createConquestActivities({
  orm,
  config,
  sandbox,
  llm,
}: Pick<ActivityDeps, 'orm' | 'config' | 'sandbox' | 'llm'>) {
  return {
    conquestMeasure: (runId: string) => measureTarget({ orm, config, sandbox }, runId),
    conquestExplain: (runId: string) => explainMeasurement({ orm, config, llm }, runId),
  };
}
