import type { z } from 'zod';
import type { Notification } from '../../../db/entities';
import type { notificationResponse } from './schema';

/** A notification as the list, the mark-read answer and the stream's `data` show it; `seq` is the stream's event id. */
export function presentNotification(n: Notification): z.infer<typeof notificationResponse> {
  return {
    id: n.id,
    seq: Number(n.seq),
    kind: n.kind,
    title: n.title,
    message: n.message,
    priority: n.priority,
    data: n.data,
    read: n.read,
    readAt: n.readAt?.toISOString() ?? null,
    createdAt: n.createdAt.toISOString(),
  };
}
