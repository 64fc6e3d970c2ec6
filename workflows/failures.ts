import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  isCancellation,
  patched,
} from '@temporalio/workflow';

/** The patch under which a cancelled workflow ends its own row (exam, proposal, run) before it stops. */
export const ENDS_ROWS_ON_CANCEL = 'ends-rows-on-cancel';

/**
 * When `err` is the workflow's cancellation (an operator's cancel in Temporal, a parent's cancel), runs `end` outside
 * the cancelled scope — its activity would otherwise be refused — and answers true; otherwise answers false and
 * leaves the failure to the caller. Histories recorded before the patch replay their old path.
 */
export async function endIfCancelled(err: unknown, end: () => Promise<unknown>): Promise<boolean> {
  if (!isCancellation(err) || !patched(ENDS_ROWS_ON_CANCEL)) return false;
  await CancellationScope.nonCancellable(end);
  return true;
}

/** The reason a cancelled workflow records. */
export const CANCELLED_REASON = 'cancelled in Temporal';

/**
 * A failure as one line for the run's record: the ApplicationFailure type and message behind an activity's or a child
 * workflow's failure when there is one.
 */
export function describeFailure(err: unknown): string {
  let cause = err;
  while ((cause instanceof ActivityFailure || cause instanceof ChildWorkflowFailure) && cause.cause !== undefined)
    cause = cause.cause;
  if (cause instanceof ApplicationFailure) return `${cause.type ?? 'Error'}: ${cause.message}`;
  return cause instanceof Error ? cause.message : String(cause);
}
