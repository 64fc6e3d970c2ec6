/** Webhook delivery (ARCHITECTURE §6): the workflow's name, id, input and result, shared by the dispatcher and the workflow. */
export const WEBHOOK_DELIVERY_WORKFLOW = 'webhookDeliveryWorkflow';

/** `webhook-<delivery id>`: one workflow per `webhook_deliveries` row. */
export function webhookWorkflowId(deliveryId: string): string {
  return `webhook-${deliveryId}`;
}

export interface WebhookDeliveryInput {
  deliveryId: string;
  /** WEBHOOK_GIVE_UP_AFTER in ms: the delivery's schedule-to-close timeout, across every attempt */
  giveUpAfterMs: number;
  /** Retry timing (ms); defaults 1 s initial, ×2, at most 5 min. Tests pass short ones. */
  retry?: { initialIntervalMs?: number; maximumIntervalMs?: number };
}

export interface WebhookDeliveryResult {
  deliveryId: string;
  status: 'delivered' | 'failed';
  statusCode?: number;
  error?: string;
}
