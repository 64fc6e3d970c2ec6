import type { ReconcileInput, ReconcileResult } from '../src/contracts';
import { proxyByKind } from './queues';

/**
 * The reconciler, run by its schedule every RECONCILE_INTERVAL: one idempotent activity ends every exam, proposal and
 * agent run whose workflow is closed in Temporal (terminated, timed out, …) without having ended its row.
 */
export async function reconcileWorkflow(input: ReconcileInput): Promise<ReconcileResult> {
  const { reconcileEndings } = proxyByKind({
    startToCloseTimeout: input.timeoutMs ?? 120_000,
    retry: { initialInterval: '5 seconds', maximumAttempts: 5 },
  });
  return reconcileEndings(input.graceSeconds * 1000);
}
