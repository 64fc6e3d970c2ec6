import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';

/** A failure as one line for the run's record: the activity's ApplicationFailure type and message when there is one. */
export function describeFailure(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return `${cause.type ?? 'Error'}: ${cause.message}`;
  return cause instanceof Error ? cause.message : String(cause);
}
