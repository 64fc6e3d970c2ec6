/**
 * How a row (exam, proposal, agent run) still open in the database ends once its workflow is closed in Temporal — the
 * reconciler's decision, pure so it can be tested. `cancelled` applies nothing (no XP, no streak, no rating) and
 * frees the agent; `failed` records the workflow's failure (an exam's `error`, which applies nothing either).
 */
export interface Ending {
  kind: 'cancelled' | 'failed';
  /** the real reason, from Temporal's status, as stored on the row */
  reason: string;
}

/** Temporal's status name of a workflow execution, or `NOT_FOUND` when Temporal no longer knows the workflow. */
export type WorkflowStatusName =
  | 'UNSPECIFIED'
  | 'RUNNING'
  | 'COMPLETED'
  | 'FAILED'
  | 'CANCELLED'
  | 'TERMINATED'
  | 'CONTINUED_AS_NEW'
  | 'TIMED_OUT'
  | 'PAUSED'
  | 'UNKNOWN'
  | 'NOT_FOUND';

/** The ending for a workflow in `status`; null while it may still end its row itself (running, paused, continued). */
export function endingFor(status: WorkflowStatusName): Ending | null {
  switch (status) {
    case 'CANCELLED':
      return { kind: 'cancelled', reason: 'cancelled in Temporal' };
    case 'TERMINATED':
      return { kind: 'cancelled', reason: 'terminated in Temporal' };
    case 'TIMED_OUT':
      return { kind: 'cancelled', reason: 'timed_out in Temporal (workflow execution timeout)' };
    case 'NOT_FOUND':
      return { kind: 'cancelled', reason: 'its workflow is unknown to Temporal' };
    case 'FAILED':
      return { kind: 'failed', reason: 'failed in Temporal before recording its ending' };
    case 'COMPLETED':
      return { kind: 'failed', reason: 'its workflow completed without recording an ending' };
    default:
      return null;
  }
}
