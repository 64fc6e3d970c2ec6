/** The reconciler (issue 14): ends the rows of workflows closed in Temporal without ending them. */
export const RECONCILE_WORKFLOW = 'reconcileWorkflow';

export interface ReconcileInput {
  /** rows younger than this are left alone (their workflow may not have reported yet) */
  graceSeconds: number;
  /** activity timeout (ms); tests pass a short one */
  timeoutMs?: number;
}

export interface ReconcileResult {
  /** rows still open whose workflow Temporal was asked about */
  checked: number;
  /** rows ended, each with its workflow id, the status stored and Temporal's reason */
  ended: { kind: 'exam' | 'proposal' | 'run'; id: string; workflowId: string; status: string; reason: string }[];
}
