import type { EntityManager } from '@mikro-orm/postgresql';
import { Notification, type NotificationKind, type NotificationPriority } from '../db/entities';

export interface NotificationInput {
  kind: NotificationKind;
  title: string;
  message: string;
  priority?: NotificationPriority;
  data?: Record<string, unknown>;
  /** When set, a second notification with the same key is silently not created (retries, "once per month"). */
  dedupeKey?: string;
}

/** Stores a notification; with a dedupe key it lands at most once. Returns whether a row was created. */
export async function createNotification(em: EntityManager, input: NotificationInput): Promise<boolean> {
  const row = new Notification(input);
  const result = await em
    .createQueryBuilder(Notification)
    .insert({
      id: row.id,
      kind: row.kind,
      title: row.title,
      message: row.message,
      priority: row.priority,
      data: row.data,
      dedupeKey: row.dedupeKey,
      read: false,
      readAt: null,
      createdAt: row.createdAt,
    })
    .onConflict('dedupeKey')
    .ignore()
    .execute('run');
  return (result.affectedRows ?? 0) > 0;
}
