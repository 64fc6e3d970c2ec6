import { createHmac } from 'node:crypto';
import type { Notification } from '../db/entities';

/**
 * The webhook wire format (ARCHITECTURE §6). Each attempt POSTs the notification as JSON with
 *   X-Lvlup-Timestamp: <unix seconds>
 *   X-Lvlup-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" keyed with the webhook secret>
 *   X-Lvlup-Delivery:  <delivery id> (the same on every attempt: receivers dedupe on it)
 * A receiver recomputes the HMAC over the timestamp, a dot and the raw body bytes, compares in constant time, and
 * rejects a timestamp more than a few minutes old (replay protection); README "Webhooks and secrets" shows how.
 */

export const WEBHOOK_HEADERS = {
  signature: 'X-Lvlup-Signature',
  timestamp: 'X-Lvlup-Timestamp',
  delivery: 'X-Lvlup-Delivery',
} as const;

/** One attempt's deadline: a receiver that has not answered by then counts as a retryable failure. */
export const WEBHOOK_REQUEST_TIMEOUT_MS = 10_000;

export interface WebhookPayload {
  id: string;
  seq: number | null;
  kind: string;
  title: string;
  message: string;
  priority: string;
  data: Record<string, unknown>;
  createdAt: string;
}

/** The JSON body for a notification: the same for every attempt of its delivery. */
export function webhookPayload(n: Notification): WebhookPayload {
  return {
    id: n.id,
    seq: n.seq === undefined || n.seq === null ? null : Number(n.seq),
    kind: n.kind,
    title: n.title,
    message: n.message,
    priority: n.priority,
    data: n.data,
    createdAt: n.createdAt.toISOString(),
  };
}

/** `sha256=<hex>` of HMAC-SHA256(secret, `<timestamp>.<body>`). */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

/** delivered: 2xx. rejected: a 3xx or a 4xx other than 408/429 (retrying will not help). retryable: the rest. */
export type WebhookOutcome = 'delivered' | 'rejected' | 'retryable';

export interface WebhookResponse {
  outcome: WebhookOutcome;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  /** from the receiver's Retry-After, when it sent one */
  retryAfterMs?: number;
}

export interface WebhookRequest {
  url: string;
  /** null sends the request unsigned (a WEBHOOK_URL without WEBHOOK_SECRET) */
  secret: string | null;
  body: string;
  deliveryId: string;
  timeoutMs?: number;
  /** aborts the request (activity cancellation) */
  signal?: AbortSignal;
}

/** One POST attempt; never throws: the outcome says whether to stop, retry or give up. Redirects are not followed. */
export async function postWebhook(req: WebhookRequest): Promise<WebhookResponse> {
  const timestamp = Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': 'lvlup-webhook/1',
    [WEBHOOK_HEADERS.timestamp]: String(timestamp),
    [WEBHOOK_HEADERS.delivery]: req.deliveryId,
  };
  if (req.secret !== null) headers[WEBHOOK_HEADERS.signature] = signWebhook(req.secret, timestamp, req.body);
  const timeoutMs = req.timeoutMs ?? WEBHOOK_REQUEST_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = req.signal === undefined ? timeout : AbortSignal.any([timeout, req.signal]);
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const res = await fetch(req.url, { method: 'POST', headers, body: req.body, redirect: 'manual', signal });
    const text = await res.text().catch(() => '');
    const durationMs = elapsed();
    if (res.status >= 200 && res.status < 300) return { outcome: 'delivered', statusCode: res.status, error: null, durationMs };
    const detail = text.trim().replace(/\s+/g, ' ').slice(0, 200);
    const error = `HTTP ${res.status}${detail === '' ? '' : `: ${detail}`}`;
    const retryable = res.status >= 500 || res.status === 408 || res.status === 429 || res.status < 200;
    return { outcome: retryable ? 'retryable' : 'rejected', statusCode: res.status, error, durationMs, retryAfterMs: parseRetryAfter(res.headers.get('Retry-After')) };
  } catch (err) {
    const error = timeout.aborted ? `no response within ${timeoutMs} ms` : `request failed: ${networkReason(err)}`;
    return { outcome: 'retryable', statusCode: null, error, durationMs: elapsed() };
  }
}

/** Retry-After as seconds or an HTTP date, in ms; undefined when absent or unparseable. */
export function parseRetryAfter(value: string | null, nowMs = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function networkReason(err: unknown): string {
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}
