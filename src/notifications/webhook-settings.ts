import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import {
  getStoredSecret,
  NO_ENCRYPTION_KEY_MESSAGE,
  openSecret,
  SecretsError,
  setStoredSecret,
  type EncryptionKeys,
} from '../crypto/secrets';
import { StoredSecret } from '../db/entities';

/**
 * Where the webhook goes. A webhook set through the API (two sealed `stored_secrets` rows: `webhook_url` holding
 * `{url, since}` and `webhook_secret`) overrides WEBHOOK_URL / WEBHOOK_SECRET as a whole; an API url of null turns
 * webhooks off even when the environment sets one; deleting the API setting falls back to the environment.
 * `since` is when the URL was set: notifications older than that are never sent to it.
 */

export const WEBHOOK_URL_NAME = 'webhook_url';
export const WEBHOOK_SECRET_NAME = 'webhook_secret';

export type WebhookSource = 'api' | 'env' | 'none';

/** The webhook deliveries go to right now. */
export interface WebhookTarget {
  url: string;
  /** null: deliveries are unsigned (a URL without a secret) */
  secret: string | null;
  source: 'api' | 'env';
  /** when an API-set URL was set; null for the environment's (the dispatcher decides) */
  since: Date | null;
}

export interface WebhookSettings {
  url: string | null;
  secretSet: boolean;
  source: WebhookSource;
  since: Date | null;
  updatedAt: Date | null;
  updatedBy: string | null;
}

interface StoredUrl {
  url: string | null;
  since: Date;
  updatedAt: Date;
  updatedBy: string | null;
}

async function readStoredUrl(em: EntityManager, keys: EncryptionKeys): Promise<StoredUrl | null> {
  const row = await em.findOne(StoredSecret, { name: WEBHOOK_URL_NAME }, { disableIdentityMap: true });
  if (row === null) return null;
  const parsed = JSON.parse(openSecret(keys, row.ciphertext, WEBHOOK_URL_NAME)) as {
    url?: string | null;
    since?: string;
  };
  return {
    url: parsed.url ?? null,
    since: new Date(parsed.since ?? row.updatedAt),
    updatedAt: row.updatedAt,
    updatedBy: row.updatedBy,
  };
}

/** The webhook to deliver to, with its secret in clear, or null when none is configured (or the API turned it off). */
export async function resolveWebhookTarget(
  em: EntityManager,
  config: Config,
  keys: EncryptionKeys,
): Promise<WebhookTarget | null> {
  const stored = await readStoredUrl(em, keys);
  if (stored !== null) {
    if (stored.url === null) return null;
    return {
      url: stored.url,
      secret: await getStoredSecret(em, keys, WEBHOOK_SECRET_NAME),
      source: 'api',
      since: stored.since,
    };
  }
  if (config.webhook.url === undefined) return null;
  return { url: config.webhook.url, secret: config.webhook.secret ?? null, source: 'env', since: null };
}

/** What the settings API shows: never the secret, only whether one is set. */
export async function describeWebhookSettings(
  em: EntityManager,
  config: Config,
  keys: EncryptionKeys,
): Promise<WebhookSettings> {
  const stored = await readStoredUrl(em, keys);
  if (stored !== null) {
    const secretSet = (await em.count(StoredSecret, { name: WEBHOOK_SECRET_NAME })) > 0;
    return {
      url: stored.url,
      secretSet,
      source: 'api',
      since: stored.since,
      updatedAt: stored.updatedAt,
      updatedBy: stored.updatedBy,
    };
  }
  const source = config.webhook.url === undefined ? 'none' : 'env';
  return {
    url: config.webhook.url ?? null,
    secretSet: config.webhook.secret !== undefined,
    source,
    since: null,
    updatedAt: null,
    updatedBy: null,
  };
}

export interface WebhookChange {
  url?: string | null;
  secret?: string;
}

export type SaveResult = { ok: true } | { ok: false; field: 'url' | 'secret'; message: string };

/**
 * Stores the API webhook, sealed. The first API setting must name a url (or null for "off"); a url needs a secret,
 * given now or stored before. Keeps `since` when the url does not change. Throws SecretsError `not_configured`
 * without DATA_ENCRYPTION_KEY (nothing is stored in clear).
 */
export async function saveWebhookSettings(
  em: EntityManager,
  keys: EncryptionKeys,
  change: WebhookChange,
  by: string | null,
): Promise<SaveResult> {
  if (keys.current === undefined) throw new SecretsError('not_configured', NO_ENCRYPTION_KEY_MESSAGE);
  return em.transactional(async (tx) => {
    const existing = await readStoredUrl(tx, keys);
    if (existing === null && change.url === undefined) {
      return {
        ok: false,
        field: 'url',
        message: 'url is required when the webhook is first set through the API (null turns webhooks off)',
      };
    }
    const url = change.url === undefined ? (existing?.url ?? null) : change.url;
    const secretStored = (await tx.count(StoredSecret, { name: WEBHOOK_SECRET_NAME })) > 0;
    if (url !== null && change.secret === undefined && !secretStored) {
      return {
        ok: false,
        field: 'secret',
        message: 'a webhook set through the API needs a secret to sign its deliveries',
      };
    }
    if (change.url !== undefined) {
      const since = existing !== null && existing.url === url ? existing.since : new Date();
      await setStoredSecret(tx, keys, WEBHOOK_URL_NAME, JSON.stringify({ url, since: since.toISOString() }), by);
    }
    if (change.secret !== undefined) await setStoredSecret(tx, keys, WEBHOOK_SECRET_NAME, change.secret, by);
    return { ok: true };
  });
}

/** Removes the API webhook (deliveries fall back to WEBHOOK_URL / WEBHOOK_SECRET); returns whether one was set. */
export async function clearWebhookSettings(em: EntityManager): Promise<boolean> {
  return (await em.nativeDelete(StoredSecret, { name: { $in: [WEBHOOK_URL_NAME, WEBHOOK_SECRET_NAME] } })) > 0;
}
