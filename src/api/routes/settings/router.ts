import Router from '@koa/router';
import type { Middleware } from 'koa';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../../../config';
import { loadEncryptionKeys, SecretsError } from '../../../crypto/secrets';
import { webhookUrlProblem } from '../../../notifications/webhook-address';
import {
  clearWebhookSettings,
  describeWebhookSettings,
  saveWebhookSettings,
} from '../../../notifications/webhook-settings';
import { badRequest, HttpError } from '../../errors';
import { requireRole } from '../../middleware/auth';
import { doc } from '../../openapi/doc';
import type { AppState } from '../../types';
import { parse } from '../../validate';
import { presentWebhookSettings } from './presenter';
import { putWebhookBody, webhookSettingsResponse } from './schema';
import { addTargetCredentialsRoutes } from './target-credentials';

/**
 * Secrets that cannot be sealed or opened as HTTP errors: 503 `encryption_not_configured` without DATA_ENCRYPTION_KEY,
 * 503 `secret_unreadable` when the stored settings were sealed under a key this server does not have.
 */
const secretsErrors: Middleware<AppState> = async (_ctx, next) => {
  try {
    await next();
  } catch (err) {
    if (!(err instanceof SecretsError)) throw err;
    if (err.code === 'not_configured') throw new HttpError(503, 'encryption_not_configured', err.message);
    throw new HttpError(
      503,
      'secret_unreadable',
      `${err.message}. DELETE /api/settings/webhook and set it again, or configure the key that sealed it.`,
    );
  }
};

const settingsDoc = {
  200: { description: 'the webhook settings (never the secret)', schema: webhookSettingsResponse },
};
/** What `secretsErrors` answers. */
const secretsErrorsDoc = {
  503: '`encryption_not_configured` without DATA_ENCRYPTION_KEY, or `secret_unreadable`: the stored secret was sealed under a key this server does not have',
};

/**
 * `/settings`: the webhook notifications are POSTed to, and the remote target's credentials (admin; audited; secrets
 * are sealed and never shown).
 */
export function settingsRouter({ orm, config }: { orm: MikroORM; config: Config }): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/settings' });
  const em = () => orm.em as EntityManager;
  const keys = loadEncryptionKeys(config.encryption);
  const show = async () => presentWebhookSettings(await describeWebhookSettings(em(), config, keys));

  router.get(
    '/webhook',
    doc({
      summary: 'The webhook notifications are POSTed to, and where that setting comes from',
      role: 'admin',
      responses: settingsDoc,
      errors: secretsErrorsDoc,
    }),
    requireRole('admin'),
    secretsErrors,
    async (ctx) => {
      ctx.body = await show();
    },
  );

  router.put(
    '/webhook',
    doc({
      summary:
        'Set the webhook URL and/or its signing secret (overrides WEBHOOK_URL/WEBHOOK_SECRET; url null turns webhooks off); needs DATA_ENCRYPTION_KEY',
      role: 'admin',
      body: putWebhookBody,
      responses: settingsDoc,
      errors: secretsErrorsDoc,
    }),
    requireRole('admin'),
    secretsErrors,
    async (ctx) => {
      const body = parse(putWebhookBody, ctx.request.body);
      ctx.state.auditTarget = 'settings:webhook';
      if (typeof body.url === 'string') {
        // Refused when saved (here) and again on every delivery, at connect time.
        const problem = await webhookUrlProblem(body.url, { allowPrivate: config.webhook.allowPrivate });
        if (problem !== null) throw badRequest(`url: ${problem}`, [{ field: 'url', message: problem }]);
      }
      const saved = await saveWebhookSettings(em(), keys, body, ctx.state.auth?.name ?? null);
      if (!saved.ok)
        throw badRequest(`${saved.field}: ${saved.message}`, [{ field: saved.field, message: saved.message }]);
      ctx.body = await show();
    },
  );

  router.delete(
    '/webhook',
    doc({
      summary: 'Remove the webhook set through the API (deliveries fall back to WEBHOOK_URL/WEBHOOK_SECRET)',
      role: 'admin',
      responses: settingsDoc,
    }),
    requireRole('admin'),
    async (ctx) => {
      ctx.state.auditTarget = 'settings:webhook';
      await clearWebhookSettings(em());
      ctx.body = await show();
    },
  );

  addTargetCredentialsRoutes(router, { em, keys, secretsErrors });

  return router;
}
