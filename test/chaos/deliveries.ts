import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EntityManager } from '@mikro-orm/postgresql';
import { webhookWorkflowId } from '../../src/contracts/webhooks';
import { createNotification } from '../../src/notifications/create';
import { WEBHOOK_HEADERS } from '../../src/notifications/webhook';
import { workflowEnding } from './exams';
import type { Stage } from './harness';
import { query } from './measures';

/** How long a delivery may take to end after the kill (its attempt's 30 s start-to-close must run out first). */
const DELIVERY_ENDING_MS = 120_000;

/**
 * A webhook receiver on loopback that holds every request open (never answers) until `release`, then answers 200:
 * the moment to kill the worker is while its POST is held. Keeps the delivery id of every request it got.
 */
export interface HoldingReceiver {
  readonly url: string;
  /** the X-Lvlup-Delivery header of every request received, in order */
  readonly deliveries: string[];
  /** resolves when the first request is held */
  readonly sprung: Promise<void>;
  release(): void;
  close(): Promise<void>;
}

export async function startHoldingReceiver(): Promise<HoldingReceiver> {
  const held: ServerResponse[] = [];
  const deliveries: string[] = [];
  let released = false;
  let spring: () => void = () => undefined;
  const sprung = new Promise<void>((resolve) => (spring = resolve));
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      deliveries.push(String(req.headers[WEBHOOK_HEADERS.delivery.toLowerCase()]));
      if (released) return void res.writeHead(200).end('ok');
      held.push(res);
      spring();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    deliveries,
    sprung,
    release: () => (released = true),
    close: () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** The webhook environment of a stage whose deliveries go to `receiver`. */
export function webhookEnv(receiver: HoldingReceiver): Record<string, string> {
  return { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: randomBytes(16).toString('hex'), WEBHOOK_ALLOW_PRIVATE: 'true' };
}

/**
 * A notification is created; the worker's outbox claims it and its delivery workflow POSTs it to the receiver, which
 * holds the request; the worker is SIGKILLed while it is held and a new one started. Correct: one delivery row for
 * the notification, `delivered`, with one successful attempt recorded; its workflow completed; every request the
 * receiver got carries that one delivery id (a receiver dedupes on it); the notification exists once.
 */
export async function webhookDeliveryWorkerKilled(
  stage: Stage,
  receiver: HoldingReceiver,
): Promise<{ correct: boolean; notes: string[] }> {
  const first = await stage.workers.start();
  const title = `chaos delivery ${randomUUID()}`;
  await createNotification(stage.orm.em.fork() as EntityManager, {
    kind: 'level_up',
    title,
    message: `${title} message`,
    priority: 'high',
    data: { agentId: 'guardian', level: 3 },
  });
  await Promise.race([
    receiver.sprung,
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error('no webhook POST reached the receiver in 60 s')), 60_000),
    ),
  ]);
  await stage.workers.kill(first);
  receiver.release();
  await stage.workers.start();
  const deliveryId = receiver.deliveries[0] ?? '';
  const ending = await workflowEnding(stage, webhookWorkflowId(deliveryId), DELIVERY_ENDING_MS);
  const [notification] = await query<{ n: number }>(
    stage,
    'select count(*)::int as n from notifications where title = $1',
    [title],
  );
  const rows = await query<{ id: string; status: string; ok: number }>(
    stage,
    `select d.id, d.status, (select count(*) from jsonb_array_elements(d.attempts) a where (a->>'statusCode')::int between 200 and 299)::int as ok
       from webhook_deliveries d join notifications n on n.id = d.notification_id where n.title = $1`,
    [title],
  );
  const notes: string[] = [];
  if (notification?.n !== 1) notes.push(`${notification?.n ?? 0} notifications for the one created`);
  if (ending.error !== undefined) notes.push(`delivery workflow: ${ending.error}`);
  const [row] = rows;
  if (rows.length !== 1 || row?.id !== deliveryId) notes.push(`${rows.length} delivery rows for the notification`);
  if (row?.status !== 'delivered' || row.ok !== 1)
    notes.push(`delivery ${row?.status ?? 'missing'} with ${row?.ok ?? 0} successful attempts recorded`);
  const others = receiver.deliveries.filter((d) => d !== deliveryId);
  if (others.length > 0) notes.push(`the receiver got ${others.length} requests of another delivery id`);
  return { correct: notes.length === 0, notes };
}
