import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createWebhookActivities } from '../../activities/webhooks.activities';
import type { Config } from '../../src/config';
import { webhookWorkflowId } from '../../src/contracts/webhooks';
import { loadEncryptionKeys } from '../../src/crypto/secrets';
import { Notification, WebhookDelivery } from '../../src/db/entities';
import { createOrm } from '../../src/db/orm';
import { createLogger } from '../../src/logger';
import { createNotification } from '../../src/notifications/create';
import { startWebhookDispatcher, type WebhookDispatcher } from '../../src/notifications/dispatcher';
import { clearWebhookSettings, saveWebhookSettings } from '../../src/notifications/webhook-settings';
import { testConfig } from '../helpers/config';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { recordHistory } from '../helpers/histories';
import { createTestWorker, type TestWorker } from '../helpers/worker';

const WORKFLOWS = require.resolve('../../workflows');
const ENV_SECRET = `env-secret-${randomBytes(8).toString('hex')}`;
const API_SECRET = `api-secret-${randomBytes(8).toString('hex')}`;
const GIVE_UP_MS = 4000;
/** What a failing receiver answers: none of it may be stored or reach Temporal (only the status code). */
const RECEIVER_BODY = 'receiver-says-internal-detail';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  body: { id: string; title: string } & Record<string, unknown>;
}

/** A webhook receiver on loopback: answers by the notification's title, and keeps every request it got. */
class Receiver {
  readonly requests: Received[] = [];
  private server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const body = JSON.parse(raw) as Received['body'];
      this.requests.push({ path: req.url ?? '', headers: req.headers, raw, body });
      const seen = this.requests.filter((r) => r.body.id === body.id).length;
      const [status, headers] = answer(body.title, seen);
      res.writeHead(status, headers).end(status < 300 ? 'ok' : `${RECEIVER_BODY} ${status}`);
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
  for(notificationId: string): Received[] {
    return this.requests.filter((r) => r.body.id === notificationId);
  }
}

function answer(title: string, seen: number): [number, Record<string, string>] {
  if (title.startsWith('flaky')) return seen <= 2 ? [500, {}] : [200, {}];
  if (title.startsWith('busy')) return seen === 1 ? [429, { 'Retry-After': '1' }] : [200, {}];
  if (title.startsWith('down')) return [503, {}];
  if (title.startsWith('gone')) return [410, {}];
  return [200, {}];
}

/** What a receiver does with the secret it shares with Lvl_UP: HMAC over "<timestamp>.<raw body>", constant-time compare. */
function verifiedBy(secret: string, r: Received): boolean {
  const timestamp = String(r.headers['x-lvlup-timestamp']);
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${timestamp}.${r.raw}`).digest('hex')}`);
  const presented = Buffer.from(String(r.headers['x-lvlup-signature']));
  return expected.length === presented.length && timingSafeEqual(expected, presented);
}

let db: TestDatabase;
let orm: MikroORM;
let config: Config;
let worker: TestWorker;
let running: Promise<void>;
let release: () => void;
let dispatcher: WebhookDispatcher;
let receiver: Receiver;
let base: string;
let oldId: string;
const em = () => orm.em.fork() as EntityManager;

async function notify(title: string): Promise<string> {
  await createNotification(em(), {
    kind: 'level_up',
    title,
    message: `${title} message`,
    priority: 'high',
    data: { agentId: 'guardian', level: 3 },
  });
  return (await em().findOneOrFail(Notification, { title })).id;
}

async function settled(notificationId: string, timeoutMs = 15_000): Promise<WebhookDelivery> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await em().findOne(WebhookDelivery, { notificationId, status: { $ne: 'pending' } });
    if (row !== null) return row;
    if (Date.now() > deadline) throw new Error(`delivery of ${notificationId} did not settle in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function startDispatcher(): WebhookDispatcher {
  return startWebhookDispatcher({
    orm,
    client: worker.client,
    config,
    logger: createLogger(config.log),
    taskQueue: worker.taskQueue,
    intervalMs: 100,
    giveUpAfterMs: GIVE_UP_MS,
    retry: { initialIntervalMs: 200, maximumIntervalMs: 500 },
  });
}

beforeAll(async () => {
  receiver = new Receiver();
  base = await receiver.start();
  db = await createTestDatabase();
  // The receiver is on loopback: these tests opt in to private destinations (the refusal is tested in webhook-address.test.ts).
  config = testConfig(db.url, {
    WEBHOOK_URL: `${base}/env`,
    WEBHOOK_SECRET: ENV_SECRET,
    DATA_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    WEBHOOK_ALLOW_PRIVATE: 'true',
  });
  orm = await createOrm(config.database);
  worker = await createTestWorker(config, orm, { workflowsPath: WORKFLOWS });
  running = worker.run(() => new Promise<void>((resolve) => (release = resolve)));
  // Created before the webhook is in use: never sent.
  oldId = await notify('before the webhook');
  await new Promise((r) => setTimeout(r, 5));
  dispatcher = startDispatcher();
});
afterAll(async () => {
  await dispatcher.stop();
  release();
  await running;
  await worker.close();
  await orm.close();
  await db.drop();
  await receiver.close();
});

it('POSTs a new notification as JSON, signed so that the receiver verifies it with the shared secret', async () => {
  const id = await notify('level up');
  const row = await settled(id);
  expect(row).toMatchObject({
    status: 'delivered',
    url: `${base}/env`,
    lastError: null,
    attempts: [{ statusCode: 200, error: null }],
  });
  expect(row.deliveredAt).toBeInstanceOf(Date);

  const [req, ...more] = receiver.for(id);
  expect(more).toHaveLength(0);
  expect(req?.path).toBe('/env');
  expect(req?.headers['content-type']).toBe('application/json');
  expect(req?.headers['x-lvlup-delivery']).toBe(row.id);
  expect(req && verifiedBy(ENV_SECRET, req)).toBe(true);
  expect(req && verifiedBy('some-other-secret-value', req)).toBe(false);
  const stored = await em().findOneOrFail(Notification, { id });
  expect(req?.body).toEqual({
    id,
    seq: Number(stored.seq),
    kind: 'level_up',
    title: 'level up',
    message: 'level up message',
    priority: 'high',
    data: { agentId: 'guardian', level: 3 },
    createdAt: stored.createdAt.toISOString(),
  });
  expect(await worker.client.workflow.getHandle(webhookWorkflowId(row.id)).result()).toMatchObject({
    status: 'delivered',
    statusCode: 200,
  });
});

it('does not send notifications created before the webhook was configured', async () => {
  await settled(await notify('a later one'));
  expect(await em().count(WebhookDelivery, { notificationId: oldId })).toBe(0);
  expect(receiver.for(oldId)).toHaveLength(0);
});

it('retries a receiver that answers 500 and delivers on the third attempt', async () => {
  const id = await notify('flaky receiver');
  const row = await settled(id);
  expect(row.status).toBe('delivered');
  expect(row.attempts.map((a) => a.statusCode)).toEqual([500, 500, 200]);
  expect(row.attempts[0]?.error).toBe('HTTP 500');
  expect(receiver.for(id).every((r) => r.headers['x-lvlup-delivery'] === row.id && verifiedBy(ENV_SECRET, r))).toBe(
    true,
  );
  await recordHistory(webhookWorkflowId(row.id), 'webhook-delivery-retried');
});

it('waits as long as a 429’s Retry-After says before the next attempt', async () => {
  const row = await settled(await notify('busy receiver'));
  expect(row.status).toBe('delivered');
  const [first, second] = row.attempts;
  expect(first?.statusCode).toBe(429);
  expect(Date.parse(second?.at ?? '') - Date.parse(first?.at ?? '')).toBeGreaterThanOrEqual(900);
});

it('gives up on a receiver that keeps failing after WEBHOOK_GIVE_UP_AFTER and marks the delivery failed', async () => {
  const started = Date.now();
  const row = await settled(await notify('down receiver'));
  expect(Date.now() - started).toBeGreaterThanOrEqual(GIVE_UP_MS - 500);
  expect(row.status).toBe('failed');
  expect(row.attempts.length).toBeGreaterThanOrEqual(3);
  expect(row.attempts.every((a) => a.statusCode === 503)).toBe(true);
  expect(row.lastError).toBe('gave up after 4 s; last attempt: HTTP 503');
  expect(JSON.stringify(row.attempts)).not.toContain(RECEIVER_BODY);
  await worker.client.workflow.getHandle(webhookWorkflowId(row.id)).result();
  // The activity failures Temporal keeps carry the status code, not the receiver's body.
  const history = await worker.client.workflow.getHandle(webhookWorkflowId(row.id)).fetchHistory();
  expect(JSON.stringify(history)).toContain('HTTP 503');
  expect(JSON.stringify(history)).not.toContain(RECEIVER_BODY);
  await recordHistory(webhookWorkflowId(row.id), 'webhook-delivery-gave-up');
});

it('stops at once when the receiver answers 410', async () => {
  const id = await notify('gone receiver');
  const row = await settled(id);
  expect(row.status).toBe('failed');
  expect(row.attempts).toHaveLength(1);
  expect(row.lastError).toMatch(/^WebhookRejected: HTTP 410$/);
  await new Promise((r) => setTimeout(r, 600));
  expect(receiver.for(id)).toHaveLength(1);
});

it('delivers each notification once when several dispatchers (workers) run', async () => {
  const second = startDispatcher();
  try {
    const id = await notify('two workers');
    await settled(id);
    await new Promise((r) => setTimeout(r, 300));
    expect(await em().count(WebhookDelivery, { notificationId: id })).toBe(1);
    expect(receiver.for(id)).toHaveLength(1);
  } finally {
    await second.stop();
  }
});

it('sends to a webhook set through the API instead of the environment’s, from the moment it is set, and to none when its url is null', async () => {
  const keys = loadEncryptionKeys(config.encryption);
  const before = await notify('before the API webhook');
  await settled(before);
  try {
    expect(await saveWebhookSettings(em(), keys, { url: `${base}/api`, secret: API_SECRET }, 'test')).toEqual({
      ok: true,
    });
    // A dispatcher tick already under way when the setting changed still works with the old one (its deliveries are
    // then refused as reconfigured); let the next tick see the new setting.
    await new Promise((r) => setTimeout(r, 500));
    const after = await notify('after the API webhook');
    const row = await settled(after);
    expect(row).toMatchObject({ status: 'delivered', url: `${base}/api` });
    const [req] = receiver.for(after);
    expect(req?.path).toBe('/api');
    expect(req && verifiedBy(API_SECRET, req)).toBe(true);
    expect(req && verifiedBy(ENV_SECRET, req)).toBe(false);
    expect(await em().count(WebhookDelivery, { notificationId: before, url: `${base}/api` })).toBe(0);

    expect(await saveWebhookSettings(em(), keys, { url: null }, 'test')).toEqual({ ok: true });
    // As above: a tick under way when webhooks were turned off still works with the old setting; the next one sees none.
    await new Promise((r) => setTimeout(r, 500));
    const off = await notify('while webhooks are off');
    await new Promise((r) => setTimeout(r, 600));
    expect(await em().count(WebhookDelivery, { notificationId: off })).toBe(0);
  } finally {
    await clearWebhookSettings(em());
  }
});

it('refuses at delivery time, without WEBHOOK_ALLOW_PRIVATE, a URL whose name resolves to loopback: nothing reaches the receiver', async () => {
  await clearWebhookSettings(em());
  // A name, not an IP literal: the configuration accepts it; the connection's own lookup refuses it.
  const url = `${base.replace('127.0.0.1', 'localhost')}/strict`;
  const strict = testConfig(db.url, {
    WEBHOOK_URL: url,
    WEBHOOK_SECRET: ENV_SECRET,
    DATA_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
  });
  await createNotification(em(), {
    kind: 'level_up',
    title: 'to a private place',
    message: 'm',
    priority: 'high',
    data: {},
  });
  const notification = await em().findOneOrFail(Notification, { title: 'to a private place' });
  const delivery = new WebhookDelivery({ notificationId: notification.id, url });
  await em().persistAndFlush(delivery);

  const activities = createWebhookActivities({ config: strict, orm, logger: createLogger(strict.log) });
  const failure: unknown = await new MockActivityEnvironment()
    .run(activities.deliverWebhook, delivery.id)
    .catch((err: unknown) => err);
  expect(failure).toMatchObject({
    type: 'WebhookRejected',
    nonRetryable: true,
    message: expect.stringMatching(
      /^refused: localhost resolves to \S+, a loopback address; set WEBHOOK_ALLOW_PRIVATE=true/,
    ),
  });
  const row = await em().findOneOrFail(WebhookDelivery, { id: delivery.id });
  expect(row.attempts).toEqual([
    expect.objectContaining({ statusCode: null, error: expect.stringMatching(/^refused: /) }),
  ]);
  expect(receiver.requests.filter((r) => r.path === '/strict')).toHaveLength(0);
});
