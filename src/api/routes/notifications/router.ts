import Router from '@koa/router';
import type { z } from 'zod';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { Notification } from '../../../db/entities';
import { readPage, sqlFilters } from '../../../db/read';
import type { Logger } from '../../../logger';
import { notFound } from '../../errors';
import { requireRole } from '../../middleware/auth';
import { doc } from '../../openapi/doc';
import { page } from '../../pagination';
import type { SseStreams } from '../../sse';
import type { AppState } from '../../types';
import { parse } from '../../validate';
import { NotificationFeed } from './feed';
import { presentNotification } from './presenter';
import {
  listNotificationsQuery,
  notificationIdParams,
  notificationPageResponse,
  notificationResponse,
  notificationStreamQuery,
  readAllResponse,
} from './schema';

/**
 * `/notifications`: list them and follow new ones as Server-Sent Events (viewer), mark one or all read (operator).
 * The stream's event id is the notification's `seq`; one poller per router serves every open stream.
 */
export function notificationsRouter({
  orm,
  logger,
  streams,
}: {
  orm: MikroORM;
  logger: Logger;
  streams: SseStreams;
}): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/notifications' });
  const em = () => orm.em as EntityManager;
  const feed = new NotificationFeed(orm, logger.child({ component: 'notifications-feed' }));

  router.get(
    '/',
    doc({
      summary: 'List notifications, newest first',
      role: 'viewer',
      query: listNotificationsQuery,
      responses: { 200: { description: 'a page of notifications', schema: notificationPageResponse } },
    }),
    requireRole('viewer'),
    async (ctx) => {
      const q = parse(listNotificationsQuery, ctx.query);
      const filters = sqlFilters([
        ['t.read', q.unread === undefined ? undefined : !q.unread],
        ['t.kind', q.kind],
      ]);
      const { rows, total } = await readPage(orm, Notification, {
        ...filters,
        orderBy: 't.seq desc',
        limit: q.limit,
        offset: q.offset,
      });
      ctx.body = page(
        rows.map(({ item }) => presentNotification(item)),
        total,
        q,
      );
    },
  );

  router.get(
    '/stream',
    doc({
      summary: 'Stream new notifications (Server-Sent Events)',
      role: 'viewer',
      query: notificationStreamQuery,
      stream: true,
      responses: {
        200: {
          description:
            '`notification` events (id: the seq, data: a `Notification`, as the list shows it) from now, or after `Last-Event-ID`; `: ping` comments in between',
        },
      },
    }),
    requireRole('viewer'),
    async (ctx) => {
      const { lastEventId } = parse(notificationStreamQuery, {
        lastEventId: ctx.get('Last-Event-ID') || ctx.query.lastEventId,
      });
      const release = streams.reserve(ctx); // a 429 past SSE_MAX_STREAMS_PER_KEY / SSE_MAX_STREAMS
      // Subscribed and caught up before the stream opens: a failure is still a JSON error, and nothing created after
      // the client saw the stream open can be missed. What arrives meanwhile waits in `early`.
      const early: Notification[] = [];
      let send: (n: Notification) => void = (n) => {
        early.push(n);
      };
      let unsubscribe: () => void;
      try {
        unsubscribe = await feed.subscribe(lastEventId === undefined ? undefined : BigInt(lastEventId), (n) => send(n));
      } catch (err) {
        release();
        throw err;
      }
      const stream = streams.open(ctx, release);
      send = (n) => stream.send('notification', presentNotification(n), String(n.seq));
      early.forEach(send);
      stream.onClose(unsubscribe);
    },
  );

  router.post(
    '/read-all',
    doc({
      summary: 'Mark every unread notification read',
      role: 'operator',
      responses: { 200: { description: 'how many were marked', schema: readAllResponse } },
    }),
    requireRole('operator'),
    async (ctx) => {
      ctx.state.auditTarget = 'notifications';
      const marked = await em().nativeUpdate(Notification, { read: false }, { read: true, readAt: new Date() });
      ctx.body = { marked } satisfies z.infer<typeof readAllResponse>;
    },
  );

  router.post(
    '/:id/read',
    doc({
      summary: 'Mark a notification read (a repeat keeps the first readAt)',
      role: 'operator',
      params: notificationIdParams,
      responses: { 200: { description: 'the notification', schema: notificationResponse } },
    }),
    requireRole('operator'),
    async (ctx) => {
      const { id } = parse(notificationIdParams, ctx.params);
      ctx.state.auditTarget = `notification:${id}`;
      await em().nativeUpdate(Notification, { id, read: false }, { read: true, readAt: new Date() });
      const notification = await em().findOne(Notification, { id });
      if (notification === null) throw notFound(`notification "${id}"`);
      ctx.body = presentNotification(notification);
    },
  );

  return router;
}
