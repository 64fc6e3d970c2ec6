import type { Middleware } from 'koa';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../../logger';
import { AuditLog } from '../../db/entities';
import type { AppState } from '../types';
import { toHttpError } from './error-handler';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Writes an audit row for every authenticated mutating call — who, what (method and route), target, outcome status,
 * from where — whether it succeeded or not.
 */
export function auditLog(orm: MikroORM, logger: Logger): Middleware<AppState> {
  return async (ctx, next) => {
    if (!MUTATING.has(ctx.method)) return next();
    let status = 500;
    try {
      await next();
      status = ctx.status;
    } catch (err) {
      status = toHttpError(err).status;
      throw err;
    } finally {
      const route: unknown = (ctx as { _matchedRoute?: unknown })._matchedRoute;
      const params = (ctx as { params?: Record<string, string> }).params ?? {};
      const row = new AuditLog({
        actorKeyId: ctx.state.auth?.keyId ?? null,
        actorName: ctx.state.auth?.name ?? null,
        actorRole: ctx.state.auth?.role ?? null,
        method: ctx.method,
        path: ctx.path.slice(0, 2000),
        action: `${ctx.method} ${typeof route === 'string' ? route : ctx.path}`.slice(0, 100),
        target: (ctx.state.auditTarget ?? params.id ?? null)?.slice(0, 200) ?? null,
        status,
        ip: ctx.ip || null,
        userAgent: ctx.get('User-Agent').slice(0, 500) || null,
        requestId: ctx.state.requestId,
      });
      try {
        await orm.em.fork().persistAndFlush(row);
      } catch (err) {
        logger.error('could not write the audit row', { requestId: ctx.state.requestId, err: String(err) });
      }
    }
  };
}
