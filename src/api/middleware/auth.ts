import type { Middleware } from 'koa';
import type { MikroORM } from '@mikro-orm/postgresql';
import { findActiveApiKey, hashApiKey } from '../../auth/api-keys';
import { ApiKey, type ApiKeyRole } from '../../db/entities';
import { forbidden, unauthorized } from '../errors';
import type { AppState, AuthContext } from '../types';

const ROLE_RANK: Record<ApiKeyRole, number> = { viewer: 0, operator: 1, admin: 2 };
const LAST_USED_RESOLUTION_MS = 60_000;

const VERIFIED_KEY_TTL_MS = 5_000;
const VERIFIED_KEY_MAX = 1_000;

/**
 * Requires `Authorization: Bearer <key>` naming an active key; puts the key's identity and role on `ctx.state.auth`.
 * A verified key is remembered for 5 s (so a revocation takes effect within 5 s): the database lookup was the largest
 * per-request cost in `npm run bench:api`. Unknown keys are never cached.
 */
export function authenticate(orm: MikroORM): Middleware<AppState> {
  const verified = new Map<string, { auth: AuthContext; expiresAt: number }>();
  return async (ctx, next) => {
    const match = /^Bearer\s+(\S+)$/i.exec(ctx.get('Authorization'));
    if (match?.[1] === undefined) throw unauthorized();
    const presented = match[1];
    // Keyed on the hash, so clear keys never outlive the request in memory.
    const cacheKey = hashApiKey(presented);
    const cached = verified.get(cacheKey);
    if (cached !== undefined && cached.expiresAt > Date.now()) {
      ctx.state.auth = cached.auth;
      return next();
    }
    const em = orm.em.fork();
    const key = await findActiveApiKey(em, presented);
    if (key === null) throw unauthorized();
    ctx.state.auth = { keyId: key.id, name: key.name, role: key.role };
    if (verified.size >= VERIFIED_KEY_MAX) verified.clear();
    verified.set(cacheKey, { auth: ctx.state.auth, expiresAt: Date.now() + VERIFIED_KEY_TTL_MS });
    if (key.lastUsedAt === null || Date.now() - key.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      // Coarse on purpose: one write a minute per key, not one per request.
      await em.nativeUpdate(ApiKey, { id: key.id }, { lastUsedAt: new Date() });
    }
    await next();
  };
}

/** Route guard: the authenticated key's role must be at least `role` (viewer < operator < admin); then the body must have parsed. */
export function requireRole(role: ApiKeyRole): Middleware<AppState> {
  return async (ctx, next) => {
    const auth = ctx.state.auth;
    if (auth === undefined) throw unauthorized();
    if (ROLE_RANK[auth.role] < ROLE_RANK[role])
      throw forbidden(`this action needs the ${role} role; the key has ${auth.role}`);
    // A body that could not be parsed is answered now, after the role check (a 403 comes first).
    if (ctx.state.bodyError !== undefined) throw ctx.state.bodyError;
    await next();
  };
}
