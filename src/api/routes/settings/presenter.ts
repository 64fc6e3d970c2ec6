import type { z } from 'zod';
import type { WebhookSettings } from '../../../notifications/webhook-settings';
import type { webhookSettingsResponse } from './schema';

/** Webhook settings as they leave the server: the URL and where it comes from, never the secret. */
export function presentWebhookSettings(s: WebhookSettings): z.infer<typeof webhookSettingsResponse> {
  return {
    url: s.url,
    secretSet: s.secretSet,
    source: s.source,
    enabled: s.url !== null,
    since: s.since?.toISOString() ?? null,
    updatedAt: s.updatedAt?.toISOString() ?? null,
    updatedBy: s.updatedBy,
  };
}
