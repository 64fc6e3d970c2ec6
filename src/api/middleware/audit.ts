import type { Middleware } from 'koa';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../../logger';
import { AuditLog } from '../../db/entities';
import type { RateLimitStore } from '../../rate-limit-store';
import type { AppState } from '../types';
import { toHttpError } from './error-handler';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Refusals recorded whatever the method: failed authentication, a role too low, rate limited. */
const REFUSALS = new Set([401, 403, 429]);

/** Characters of a presented key kept in the audit log: the `lvl_` prefix and 6 of 43 random characters, never the key. */
export const AUDIT_KEY_PREFIX_LENGTH = 10;
/** A presented "key" shorter than this is not recorded at all: its first characters could be most of it. */
const MIN_KEY_LENGTH_FOR_PREFIX = 24;

/** Rate-limited refusals (429) of one client are recorded once per this window: a flood is one row, not one per request. */
export const AUDIT_429_WINDOW_MS = 60_000;

/**
 * Writes an audit row for every mutating call under `/api` — authenticated or not, whatever its outcome (including a
 * malformed body, too large, conflict) — and for every refused call of any method (401, 403, 429): who (key id, name,
 * role, or for a failed authentication the presented key's first characters), what (method and route), target,
 * status, from where. Outermost in the `/api` guard, so it sees the refusals of everything after it.
 *
 * A 429 is recorded for the first refusal of a client (its IP, and its key when it had one) in each minute, counted
 * in `store` (shared between API processes like the limits themselves): a client flooding a limit would otherwise
 * make every refused request a database write — the work the limit is there to spare. Every 429 is still counted in
 * `http_requests_total`. Without a store, each is recorded.
 */
export function auditLog(orm: MikroORM, logger: Logger, store?: RateLimitStore): Middleware<AppState> {
  const firstInWindow = async (ctx: Parameters<Middleware<AppState>>[0]) => {
    if (store === undefined) return true;
    try {
      const { count } = await store.hit(`audit429:${ctx.ip}:${ctx.state.auth?.keyId ?? '-'}`, AUDIT_429_WINDOW_MS);
      return count === 1;
    } catch {
      return true;
    }
  };
  return async (ctx, next) => {
    let status = 500;
    try {
      await next();
      status = ctx.status;
    } catch (err) {
      status = toHttpError(err).status;
      throw err;
    } finally {
      if ((MUTATING.has(ctx.method) || REFUSALS.has(status)) && (status !== 429 || (await firstInWindow(ctx))))
        await write(orm, logger, ctx, status);
    }
  };
}

async function write(
  orm: MikroORM,
  logger: Logger,
  ctx: Parameters<Middleware<AppState>>[0],
  status: number,
): Promise<void> {
  const route: unknown = (ctx as { _matchedRoute?: unknown })._matchedRoute;
  const params = (ctx as { params?: Record<string, string> }).params ?? {};
  const row = new AuditLog({
    actorKeyId: ctx.state.auth?.keyId ?? null,
    actorName: ctx.state.auth?.name ?? null,
    actorRole: ctx.state.auth?.role ?? null,
    keyPrefix: presentedKeyPrefix(ctx.get('Authorization')),
    method: ctx.method.slice(0, 10),
    path: ctx.path.slice(0, 2000),
    action: `${ctx.method} ${typeof route === 'string' ? route : ctx.path}`.slice(0, 100),
    // A route's :id is decoded from the URL and may hold anything, a NUL included (which PostgreSQL cannot store).
    target: (ctx.state.auditTarget ?? params.id ?? null)?.replaceAll('\u0000', '\uFFFD').slice(0, 200) ?? null,
    status,
    ip: ctx.ip.slice(0, 64) || null,
    userAgent: ctx.get('User-Agent').slice(0, 500) || null,
    requestId: ctx.state.requestId,
  });
  try {
    await orm.em.fork().persistAndFlush(row);
  } catch (err) {
    logger.error('could not write the audit row', { requestId: ctx.state.requestId, err: String(err) });
  }
}

/** The first characters of the bearer key in an Authorization header (null: none, or too short to show any of it). */
export function presentedKeyPrefix(authorization: string): string | null {
  const key = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
  if (key === undefined || key.length < MIN_KEY_LENGTH_FOR_PREFIX) return null;
  return key.slice(0, AUDIT_KEY_PREFIX_LENGTH).replace(/[^\x21-\x7e]/g, '?');
}
