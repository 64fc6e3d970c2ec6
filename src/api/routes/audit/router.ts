import Router from '@koa/router';
import type { EntityManager, FilterQuery, MikroORM } from '@mikro-orm/postgresql';
import { AuditLog } from '../../../db/entities';
import { requireRole } from '../../middleware/auth';
import { doc } from '../../openapi/doc';
import { page } from '../../pagination';
import type { AppState } from '../../types';
import { parse } from '../../validate';
import { presentAuditEntry } from './presenter';
import { auditPageResponse, listAuditQuery } from './schema';

/** `/audit`: the audit log (admin): every mutating call and every refusal, newest first. */
export function auditRouter({ orm }: { orm: MikroORM }): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/audit' });

  router.get(
    '/',
    doc({
      summary: 'The audit log, newest first: mutating calls and refusals (401, 403, 429)',
      role: 'admin',
      query: listAuditQuery,
      responses: { 200: { description: 'a page of audit entries', schema: auditPageResponse } },
    }),
    requireRole('admin'),
    async (ctx) => {
      const q = parse(listAuditQuery, ctx.query);
      const where: FilterQuery<AuditLog> = {};
      if (q.actor !== undefined) where.actorName = q.actor;
      if (q.keyPrefix !== undefined) where.keyPrefix = { $like: `${escapeLike(q.keyPrefix)}%` };
      if (q.method !== undefined) where.method = q.method;
      if (q.path !== undefined) where.path = { $like: `${escapeLike(q.path)}%` };
      if (q.status !== undefined) where.status = q.status;
      if (q.from || q.to)
        where.at = { ...(q.from && { $gte: new Date(q.from) }), ...(q.to && { $lt: new Date(q.to) }) };
      const [rows, total] = await (orm.em as EntityManager).findAndCount(AuditLog, where, {
        orderBy: { at: 'desc', id: 'desc' },
        limit: q.limit,
        offset: q.offset,
      });
      ctx.body = page(rows.map(presentAuditEntry), total, q);
    },
  );

  return router;
}

/** A LIKE pattern matching `s` literally (PostgreSQL's default escape character is the backslash). */
function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
