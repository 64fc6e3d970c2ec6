import { ApplicationFailure, Context } from '@temporalio/activity';
import type { EntityManager } from '@mikro-orm/postgresql';
import { loadEncryptionKeys, SecretsError } from '../src/crypto/secrets';
import { Notification, WebhookDelivery, type WebhookAttempt } from '../src/db/entities';
import { postWebhook, webhookPayload, type WebhookResponse } from '../src/notifications/webhook';
import { resolveWebhookTarget } from '../src/notifications/webhook-settings';
import type { ActivityDeps } from './deps';

/**
 * Webhook delivery (ARCHITECTURE §6): one POST per activity attempt, every attempt appended to the delivery row.
 * Retry meaning: 2xx delivered; a 3xx or a 4xx other than 408/429 is non-retryable `WebhookRejected`; 5xx, 408, 429
 * and network trouble are retryable `WebhookUnavailable` (Retry-After becomes the next retry delay).
 */
export function createWebhookActivities({ config, orm, logger }: Pick<ActivityDeps, 'config' | 'orm' | 'logger'>) {
  const keys = loadEncryptionKeys(config.encryption);
  const log = logger.child({ component: 'webhooks' });

  return {
    /** POSTs the delivery's notification once; throws the failure that tells Temporal whether to retry. */
    async deliverWebhook(deliveryId: string): Promise<{ statusCode: number | null; attempts: number }> {
      const em = orm.em.fork() as EntityManager;
      const delivery = await em.findOne(WebhookDelivery, { id: deliveryId });
      if (delivery === null)
        throw ApplicationFailure.nonRetryable(`no webhook delivery ${deliveryId}`, 'WebhookDeliveryNotFound');
      if (delivery.status === 'delivered')
        return { statusCode: delivery.attempts.at(-1)?.statusCode ?? null, attempts: delivery.attempts.length };
      if (delivery.status === 'failed')
        throw ApplicationFailure.nonRetryable(`delivery ${deliveryId} already failed`, 'WebhookDeliveryClosed');
      const notification = await em.findOne(Notification, { id: delivery.notificationId });
      if (notification === null)
        throw ApplicationFailure.nonRetryable(
          `notification ${delivery.notificationId} no longer exists`,
          'WebhookNotificationGone',
        );

      const target = await resolveWebhookTarget(em, config, keys).catch(async (err: unknown) => {
        if (!(err instanceof SecretsError)) throw err;
        // A worker with the wrong key cannot sign; another worker (or this one after a fix) may: keep retrying.
        await recordAttempt(em, deliveryId, {
          outcome: 'retryable',
          statusCode: null,
          error: `webhook settings unreadable: ${err.message}`,
          durationMs: 0,
        });
        throw ApplicationFailure.retryable(err.message, 'WebhookSecretUnreadable');
      });
      if (target === null || target.url !== delivery.url) {
        throw ApplicationFailure.nonRetryable(
          'the webhook was reconfigured after this delivery was queued; not sent',
          'WebhookReconfigured',
        );
      }

      const response = await postWebhook({
        url: delivery.url,
        secret: target.secret,
        body: JSON.stringify(webhookPayload(notification)),
        deliveryId,
        signal: Context.current().cancellationSignal,
        allowPrivate: config.webhook.allowPrivate,
      });
      const attempts = await recordAttempt(em, deliveryId, response);
      const meta = {
        deliveryId,
        notificationId: delivery.notificationId,
        attempt: attempts,
        statusCode: response.statusCode,
        durationMs: response.durationMs,
      };
      if (response.outcome === 'delivered') {
        log.info('webhook delivered', meta);
        return { statusCode: response.statusCode, attempts };
      }
      log.warn('webhook attempt failed', { ...meta, error: response.error });
      const message = response.error ?? 'failed';
      if (response.outcome === 'rejected')
        throw ApplicationFailure.nonRetryable(message, 'WebhookRejected', { statusCode: response.statusCode });
      throw ApplicationFailure.create({
        message,
        type: 'WebhookUnavailable',
        nextRetryDelay: response.retryAfterMs,
        details: [{ statusCode: response.statusCode }],
      });
    },

    /**
     * Ends a delivery as failed with `reason`; when it `gaveUp` (WEBHOOK_GIVE_UP_AFTER ran out) the last attempt's
     * error follows the reason.
     */
    async markWebhookFailed(deliveryId: string, reason: string, gaveUp: boolean): Promise<void> {
      await orm.em
        .fork()
        .getConnection()
        .execute(
          `update "webhook_deliveries"
            set "status" = 'failed', "updated_at" = now(),
                "last_error" = case when ? and "last_error" is not null then ? || '; last attempt: ' || "last_error" else ? end
          where "id" = ? and "status" = 'pending'`,
          [gaveUp, reason.slice(0, 1000), reason.slice(0, 1000), deliveryId],
          'run',
        );
      log.warn('webhook delivery failed', { deliveryId, reason });
    },
  };
}

/** Appends one attempt (only while the row is pending, so a late attempt never reopens it); returns the count. */
async function recordAttempt(em: EntityManager, deliveryId: string, r: WebhookResponse): Promise<number> {
  const attempt: WebhookAttempt = {
    at: new Date().toISOString(),
    statusCode: r.statusCode,
    error: r.error,
    durationMs: r.durationMs,
  };
  const delivered = r.outcome === 'delivered';
  const rows = await em.getConnection().execute<Array<{ attempts: number }>>(
    `update "webhook_deliveries"
        set "attempts" = "attempts" || ?::jsonb, "last_error" = ?, "updated_at" = now(),
            "status" = case when ? then 'delivered' else "status" end,
            "delivered_at" = case when ? then now() else "delivered_at" end
      where "id" = ? and "status" = 'pending'
      returning jsonb_array_length("attempts") as "attempts"`,
    [JSON.stringify([attempt]), r.error, delivered, delivered, deliveryId],
    'all',
  );
  return rows[0]?.attempts ?? 0;
}
