import { randomUUID } from 'node:crypto';
import { EntitySchema } from '@mikro-orm/core';

export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];

export interface WebhookAttempt {
  at: string;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

/** One notification's delivery to the webhook (ARCHITECTURE §6): every attempt kept, then delivered or failed. */
export class WebhookDelivery {
  id: string = randomUUID();
  notificationId: string;
  url: string;
  status: WebhookDeliveryStatus = 'pending';
  attempts: WebhookAttempt[] = [];
  lastError: string | null = null;
  createdAt: Date = new Date();
  updatedAt: Date = new Date();
  deliveredAt: Date | null = null;

  constructor(init: Pick<WebhookDelivery, 'notificationId' | 'url'>) {
    this.notificationId = init.notificationId;
    this.url = init.url;
  }
}

export const WebhookDeliverySchema = new EntitySchema<WebhookDelivery>({
  class: WebhookDelivery,
  tableName: 'webhook_deliveries',
  indexes: [{ properties: ['status', 'createdAt'] }],
  uniques: [{ properties: ['notificationId', 'url'] }],
  properties: {
    id: { type: 'uuid', primary: true },
    notificationId: { type: 'uuid' },
    url: { type: 'text' },
    status: { type: 'string', length: 16 },
    attempts: { type: 'json' },
    lastError: { type: 'text', nullable: true },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
    updatedAt: { type: 'Date', columnType: 'timestamptz', onUpdate: () => new Date() },
    deliveredAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
  },
});
