import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  setHandler,
  TimeoutFailure,
} from '@temporalio/workflow';
import { progressQuery, type WorkflowProgress } from '../src/contracts';
import type { WebhookDeliveryInput, WebhookDeliveryResult } from '../src/contracts/webhooks';
import { describeFailure } from './failures';
import { proxyByKind } from './queues';

/**
 * One notification's webhook delivery (ARCHITECTURE §6), started by the outbox dispatcher: `deliverWebhook` retried
 * with backoff (1 s, ×2, at most 5 min; Retry-After honoured) until it succeeds, is rejected (a 4xx), or
 * WEBHOOK_GIVE_UP_AFTER runs out (its schedule-to-close timeout) — then the row is marked failed with the last error.
 */
export async function webhookDeliveryWorkflow(input: WebhookDeliveryInput): Promise<WebhookDeliveryResult> {
  const progress: WorkflowProgress = { step: 'deliver', state: 'running', completedSteps: [] };
  setHandler(progressQuery, () => progress);
  const http = proxyByKind({
    startToCloseTimeout: '30 seconds',
    scheduleToCloseTimeout: input.giveUpAfterMs,
    retry: {
      initialInterval: input.retry?.initialIntervalMs ?? 1000,
      backoffCoefficient: 2,
      maximumInterval: input.retry?.maximumIntervalMs ?? 300_000,
    },
  });
  const db = proxyByKind({ startToCloseTimeout: '30 seconds', retry: { maximumInterval: '1 minute' } });

  try {
    const { statusCode } = await http.deliverWebhook(input.deliveryId);
    progress.completedSteps.push('deliver');
    progress.step = 'done';
    progress.state = 'completed';
    return { deliveryId: input.deliveryId, status: 'delivered', statusCode: statusCode ?? undefined };
  } catch (err) {
    // Time ran out either during an attempt or backoff (a timeout), or when Temporal saw that the next retry would not
    // fit before the deadline and returned the last retryable failure instead.
    const cause = err instanceof ActivityFailure ? err.cause : undefined;
    const gaveUp = cause instanceof TimeoutFailure || (cause instanceof ApplicationFailure && !cause.nonRetryable);
    const reason = isCancellation(err)
      ? 'cancelled'
      : gaveUp
        ? `gave up after ${Math.round(input.giveUpAfterMs / 1000)} s`
        : describeFailure(err);
    progress.step = 'mark-failed';
    // A cancelled delivery is still recorded as failed, not left pending.
    await CancellationScope.nonCancellable(() => db.markWebhookFailed(input.deliveryId, reason, gaveUp));
    progress.state = 'failed';
    if (isCancellation(err)) throw err;
    return { deliveryId: input.deliveryId, status: 'failed', error: reason };
  }
}
