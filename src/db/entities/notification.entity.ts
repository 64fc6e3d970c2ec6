import { randomUUID } from 'node:crypto';
import { EntitySchema } from '@mikro-orm/core';

export const NOTIFICATION_KINDS = [
  'level_up',
  'exam_failure_streak',
  'skill_regression',
  'proposal_awaiting_review',
  'proposal_applied',
  'proposal_expired',
  'security_finding',
  'performance_regression',
  'budget_warning',
  'budget_exhausted',
  'cycle_completed',
  'cycle_failed',
  'weekly_report',
  'judge_agreement_low',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];
export const NOTIFICATION_PRIORITIES = ['low', 'normal', 'high', 'critical'] as const;
export type NotificationPriority = (typeof NOTIFICATION_PRIORITIES)[number];

/** A stored notification (ARCHITECTURE §6). `dedupeKey` makes a retried write land once. */
export class Notification {
  id: string = randomUUID();
  kind: NotificationKind;
  title: string;
  message: string;
  priority: NotificationPriority;
  data: Record<string, unknown>;
  dedupeKey: string | null;
  read = false;
  readAt: Date | null = null;
  createdAt: Date = new Date();
  /** Insertion order, set by the database: the SSE stream's event id (`Last-Event-ID` resumes after it). */
  seq?: bigint | string | number;

  constructor(init: {
    kind: NotificationKind;
    title: string;
    message: string;
    priority?: NotificationPriority;
    data?: Record<string, unknown>;
    dedupeKey?: string | null;
  }) {
    this.kind = init.kind;
    this.title = init.title;
    this.message = init.message;
    this.priority = init.priority ?? 'normal';
    this.data = init.data ?? {};
    this.dedupeKey = init.dedupeKey ?? null;
  }
}

export const NotificationSchema = new EntitySchema<Notification>({
  class: Notification,
  tableName: 'notifications',
  indexes: [{ properties: ['createdAt'] }, { properties: ['read', 'createdAt'] }],
  properties: {
    id: { type: 'uuid', primary: true },
    kind: { type: 'string', length: 40 },
    title: { type: 'string', length: 200 },
    message: { type: 'text' },
    priority: { type: 'string', length: 16 },
    data: { type: 'json' },
    dedupeKey: { type: 'string', length: 200, nullable: true, unique: true },
    read: { type: 'boolean' },
    readAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
    seq: { type: 'bigint', columnType: 'bigserial', persist: false, unique: true },
  },
});
