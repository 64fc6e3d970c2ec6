import { z } from 'zod';
import { text } from '../../text';

const httpUrl = text(2000).refine((v) => {
  try {
    const url = new URL(v);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}, 'must be an http(s) URL');

/** `PUT /settings/webhook`: a url (null turns webhooks off, overriding WEBHOOK_URL), a secret, or both. */
export const putWebhookBody = z
  .object({
    url: httpUrl.nullable().optional(),
    secret: text(500, { trim: false }).min(16, 'must be at least 16 characters').optional(),
  })
  .strict()
  .refine((b) => b.url !== undefined || b.secret !== undefined, { message: 'give url, secret or both' });

/** The webhook settings as the API shows them: never the secret. */
export const webhookSettingsResponse = z
  .object({
    url: z.string().nullable().describe('where notifications are POSTed; null: no webhook'),
    secretSet: z.boolean().describe('whether deliveries are signed'),
    source: z
      .enum(['api', 'env', 'none'])
      .describe('api: set through this API (overrides WEBHOOK_URL/WEBHOOK_SECRET); env: the environment; none'),
    enabled: z.boolean(),
    since: z.string().nullable().describe('when the API-set url was set: older notifications are not sent to it'),
    updatedAt: z.string().nullable(),
    updatedBy: z.string().nullable(),
  })
  .meta({ id: 'WebhookSettings' });
