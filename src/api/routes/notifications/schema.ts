import { z } from 'zod';
import { NOTIFICATION_KINDS, NOTIFICATION_PRIORITIES } from '../../../db/entities';
import { paginationQuery } from '../../pagination';
import { jsonObject, nullableTimestamp, pageOf, timestamp } from '../../responses';
import { text } from '../../text';

export const listNotificationsQuery = paginationQuery.extend({
  unread: z.stringbool().optional(),
  kind: z.enum(NOTIFICATION_KINDS).optional(),
});

export const notificationIdParams = z.object({ id: z.uuid('must be a notification id') });

/**
 * Where a stream resumes: after the `seq` of the last event the client saw. EventSource sends it as the `Last-Event-ID`
 * header when it reconnects; `?lastEventId=` is for clients that cannot set headers (the header wins).
 */
export const notificationStreamQuery = z.object({
  lastEventId: text(18, { trim: false })
    .regex(/^\d{1,18}$/, 'must be the id of an event (a notification seq)')
    .optional(),
});

export const readAllResponse = z.object({ marked: z.number().int().min(0) });

/** A notification (`presentNotification`): the list, the mark-read answer and the stream's `data`. */
export const notificationResponse = z
  .object({
    id: z.uuid(),
    seq: z.number().int().describe("the stream's event id"),
    kind: z.enum(NOTIFICATION_KINDS),
    title: z.string(),
    message: z.string(),
    priority: z.enum(NOTIFICATION_PRIORITIES),
    data: jsonObject.describe('the figures of the event; fields depend on the kind'),
    read: z.boolean(),
    readAt: nullableTimestamp,
    createdAt: timestamp,
  })
  .meta({ id: 'Notification' });

export const notificationPageResponse = pageOf(notificationResponse);
