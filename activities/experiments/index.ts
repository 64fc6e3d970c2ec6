import type { ActivityDeps } from '../deps';
import { runExperiment, runTargetTests } from './run';

/** Sandbox's experiment steps (ARCHITECTURE §3.4), idempotent on the run's stored state. */
export function createExperimentActivities({
  orm,
  config,
  sandbox,
  llm,
}: Pick<ActivityDeps, 'orm' | 'config' | 'sandbox' | 'llm'>) {
  return {
    sandboxRunTests: (runId: string) => runTargetTests({ orm, config, sandbox, llm }, runId),
    sandboxExperiment: (runId: string) => runExperiment({ orm, config, sandbox, llm }, runId),
  };
}
