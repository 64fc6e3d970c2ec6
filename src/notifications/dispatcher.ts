import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Config } from '../config';
import { WEBHOOK_DELIVERY_WORKFLOW, webhookWorkflowId, type WebhookDeliveryInput } from '../contracts/webhooks';
import { loadEncryptionKeys, SecretsError } from '../crypto/secrets';
import type { Logger } from '../logger';
import { resolveWebhookTarget, type WebhookTarget } from './webhook-settings';

/**
 * The webhook outbox (ARCHITECTURE §6), run in every worker process: every `intervalMs` it claims the notifications
 * that have no `webhook_deliveries` row for the current URL yet — inserting the row is the claim, and the unique
 * (notification_id, url) makes it happen once across workers — and starts `webhookDeliveryWorkflow` for each
 * (`webhook-<delivery id>`; an already started one is fine). Rows left pending and untouched for `staleAfterMs`
 * (a crash between claim and start, Temporal unreachable) are started again.
 *
 * Which notifications: those created since the webhook was configured — for an API-set URL, when it was set; for
 * WEBHOOK_URL, the oldest notification ever queued for that URL, else when this process first saw it (its start,
 * when the URL was there from the start) — and never
 * ones older than WEBHOOK_GIVE_UP_AFTER (after downtime the dispatcher catches up that far, no further).
 */
export interface WebhookDispatcherOptions {
  orm: MikroORM;
  client: Client;
  config: Config;
  logger: Logger;
  taskQueue: string;
  /** between polls; default 5000 */
  intervalMs?: number;
  /** default WEBHOOK_GIVE_UP_AFTER */
  giveUpAfterMs?: number;
  retry?: WebhookDeliveryInput['retry'];
  /** notifications claimed per poll; default 100 */
  batchSize?: number;
  /** default 10 minutes */
  staleAfterMs?: number;
}

export interface WebhookDispatcher {
  /** One poll: returns how many deliveries it claimed and workflows it started. */
  tick(): Promise<{ claimed: number; started: number }>;
  /** Stops polling and waits for a poll in progress. */
  stop(): Promise<void>;
}

/** Starts polling at once; `stop` ends it. A failed poll is logged and the next one tried. */
export function startWebhookDispatcher(opts: WebhookDispatcherOptions): WebhookDispatcher {
  const log = opts.logger.child({ component: 'webhook-dispatcher' });
  const keys = loadEncryptionKeys(opts.config.encryption);
  const intervalMs = opts.intervalMs ?? 5000;
  const giveUpAfterMs = opts.giveUpAfterMs ?? opts.config.webhook.giveUpAfterSeconds * 1000;
  const startedAt = new Date();
  let polls = 0;
  const firstSeen = new Map<string, Date>();
  const earliestQueued = new Map<string, Date>();
  const warned = new Set<string>();
  const warnOnce = (key: string, message: string, meta: Record<string, unknown> = {}) => {
    if (warned.has(key)) return;
    warned.add(key);
    log.warn(message, meta);
  };

  /** The earliest notification time this URL may receive (see the module comment). */
  async function cutoff(em: EntityManager, target: WebhookTarget): Promise<Date> {
    const floor = new Date(Date.now() - giveUpAfterMs);
    let from = target.since;
    if (from === null) {
      // A URL configured when the dispatcher starts counts from that start, not from when the first poll got to it.
      if (!firstSeen.has(target.url)) firstSeen.set(target.url, polls === 1 ? startedAt : new Date());
      if (!earliestQueued.has(target.url)) {
        const [row] = await em.execute<Array<{ at: Date | null }>>(
          'select min(n."created_at") as "at" from "webhook_deliveries" d join "notifications" n on n."id" = d."notification_id" where d."url" = ?',
          [target.url],
        );
        if (row?.at) earliestQueued.set(target.url, new Date(row.at));
      }
      const seen = firstSeen.get(target.url) ?? new Date();
      const queued = earliestQueued.get(target.url);
      from = queued !== undefined && queued < seen ? queued : seen;
    }
    return from > floor ? from : floor;
  }

  async function claim(em: EntityManager, url: string, from: Date): Promise<string[]> {
    const rows = await em.execute<Array<{ id: string }>>(
      `insert into "webhook_deliveries" ("id", "notification_id", "url", "status", "attempts", "created_at", "updated_at")
       select gen_random_uuid(), n."id", ?, 'pending', '[]'::jsonb, now(), now()
         from "notifications" n
        where n."created_at" >= ?
          and not exists (select 1 from "webhook_deliveries" d where d."notification_id" = n."id" and d."url" = ?)
        order by n."created_at", n."id"
        limit ?
       on conflict ("notification_id", "url") do nothing
       returning "id"`,
      [url, from, url, opts.batchSize ?? 100],
    );
    return rows.map((r) => r.id);
  }

  /** Pending rows nobody has touched for a while: taken (updated_at bumped) by one worker, which starts them again. */
  async function stale(em: EntityManager): Promise<string[]> {
    const rows = await em.execute<Array<{ id: string }>>(
      `update "webhook_deliveries" set "updated_at" = now()
        where "id" in (select "id" from "webhook_deliveries" where "status" = 'pending' and "updated_at" < ? order by "updated_at" limit 100 for update skip locked)
        returning "id"`,
      [new Date(Date.now() - (opts.staleAfterMs ?? 600_000))],
    );
    return rows.map((r) => r.id);
  }

  async function start(deliveryId: string): Promise<boolean> {
    try {
      await opts.client.workflow.start(WEBHOOK_DELIVERY_WORKFLOW, {
        taskQueue: opts.taskQueue,
        workflowId: webhookWorkflowId(deliveryId),
        args: [{ deliveryId, giveUpAfterMs, retry: opts.retry } satisfies WebhookDeliveryInput],
        // A delivery is attempted by one workflow run, ever: a second start of the same id is a no-op.
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
      return true;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
      // Left pending: the stale sweep starts it again.
      log.error('could not start a webhook delivery', {
        deliveryId,
        err: err instanceof Error ? err.message : String(err),
      });
      return false;
    }
  }

  async function tick(): Promise<{ claimed: number; started: number }> {
    polls++;
    const em = opts.orm.em.fork() as EntityManager;
    let target: WebhookTarget | null;
    try {
      target = await resolveWebhookTarget(em, opts.config, keys);
    } catch (err) {
      if (!(err instanceof SecretsError)) throw err;
      warnOnce(`secrets:${err.code}`, `webhook settings cannot be read, nothing is delivered: ${err.message}`);
      return { claimed: 0, started: 0 };
    }
    const claimed = target === null ? [] : await claim(em, target.url, await cutoff(em, target));
    if (target !== null && target.secret === null)
      warnOnce(
        `unsigned:${target.url}`,
        'the webhook has no secret: deliveries are sent unsigned (set WEBHOOK_SECRET)',
      );
    let started = 0;
    for (const id of [...claimed, ...(await stale(em))]) if (await start(id)) started++;
    if (claimed.length > 0)
      log.debug('webhook deliveries queued', { claimed: claimed.length, started, source: target?.source });
    return { claimed: claimed.length, started };
  }

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const loop = () => {
    running = tick()
      .catch((err: unknown) =>
        log.error('webhook dispatch failed', { err: err instanceof Error ? err.message : String(err) }),
      )
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, intervalMs).unref();
      });
  };
  loop();
  return {
    tick,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
