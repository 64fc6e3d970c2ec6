import { createHmac } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { Notification } from '../db/entities';
import {
  addressProblem,
  ALLOW_PRIVATE_HINT,
  describeRefusal,
  guardedLookup,
  urlHost,
  WebhookAddressError,
  type Resolver,
} from './webhook-address';

/**
 * The webhook wire format (ARCHITECTURE §6). Each attempt POSTs the notification as JSON with
 *   X-Lvlup-Timestamp: <unix seconds>
 *   X-Lvlup-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" keyed with the webhook secret>
 *   X-Lvlup-Delivery:  <delivery id> (the same on every attempt: receivers dedupe on it)
 * A receiver recomputes the HMAC over the timestamp, a dot and the raw body bytes, compares in constant time, and
 * rejects a timestamp more than a few minutes old (replay protection); docs/configuration.md "Webhooks and secrets" shows how.
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
  /** WEBHOOK_ALLOW_PRIVATE: loopback, private, link-local… destinations are allowed */
  allowPrivate: boolean;
  /** how the host name is resolved (default dns.lookup); tests inject one */
  resolve?: Resolver;
}

/**
 * One POST attempt; never throws: the outcome says whether to stop, retry or give up. Redirects are not followed.
 * The destination is checked (webhook-address.ts) inside the socket's lookup, so the address connected to is the one
 * checked; a refused destination is `rejected`. The receiver's response body is never read into the result: only
 * its status code is kept ("HTTP 500"), so nothing a receiver says ends up in the database or in Temporal.
 */
export async function postWebhook(req: WebhookRequest): Promise<WebhookResponse> {
  const timestamp = Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(req.body)),
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
  const refused = (error: string): WebhookResponse => ({
    outcome: 'rejected',
    statusCode: null,
    error,
    durationMs: elapsed(),
  });

  let url: URL;
  try {
    url = new URL(req.url);
  } catch {
    return refused('refused: not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return refused('refused: not an http(s) URL');
  // An IP literal never goes through a lookup: it is checked here.
  const host = urlHost(url);
  if (!req.allowPrivate && isIP(host) !== 0) {
    const problem = addressProblem(host);
    if (problem !== null)
      return refused(`refused: ${url.hostname} is ${describeRefusal(problem)}; ${ALLOW_PRIVATE_HINT}`);
  }
  try {
    const res = await send(
      url,
      headers,
      req.body,
      signal,
      guardedLookup({ allowPrivate: req.allowPrivate, resolve: req.resolve }),
    );
    const durationMs = elapsed();
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return { outcome: 'delivered', statusCode: status, error: null, durationMs };
    const retryable = status >= 500 || status === 408 || status === 429 || status < 200;
    const retryAfter = res.headers['retry-after'];
    return {
      outcome: retryable ? 'retryable' : 'rejected',
      statusCode: status,
      error: `HTTP ${status}`,
      durationMs,
      retryAfterMs: parseRetryAfter(typeof retryAfter === 'string' ? retryAfter : null),
    };
  } catch (err) {
    if (err instanceof WebhookAddressError) return refused(`refused: ${err.message}`);
    const error = timeout.aborted ? `no response within ${timeoutMs} ms` : `request failed: ${networkReason(err)}`;
    return { outcome: 'retryable', statusCode: null, error, durationMs: elapsed() };
  }
}

/** POSTs on a fresh connection (no pooled socket from an earlier resolution); resolves with the response head. */
function send(
  url: URL,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
  lookup: ReturnType<typeof guardedLookup>,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(url, { method: 'POST', headers, signal, lookup, agent: false }, (res) => {
      // The body is never read: only the status code is kept.
      resolve(res);
      res.destroy();
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Retry-After as seconds or an HTTP date, in ms; undefined when absent or unparseable. */
export function parseRetryAfter(value: string | null, nowMs = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function networkReason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}
