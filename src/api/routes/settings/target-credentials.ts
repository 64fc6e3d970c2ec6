import type Router from '@koa/router';
import type { Middleware } from 'koa';
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import type { EncryptionKeys } from '../../../crypto/secrets';
import {
  clearTargetCredentials,
  describeTargetCredentials,
  saveTargetCredentials,
  type TargetCredentialsSettings,
} from '../../../target/credentials-settings';
import { requireRole } from '../../middleware/auth';
import { doc } from '../../openapi/doc';
import type { AppState } from '../../types';
import { parse } from '../../validate';
import { text } from '../../text';

/** `PUT /settings/target-credentials`: an https token for TARGET_REPO_URL, and optionally the user name it goes with. */
export const putTargetCredentialsBody = z
  .object({
    token: text(2000, { trim: false }).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
    username: text(200, { trim: false })
      .regex(/^[\x21-\x39\x3b-\x7e]+$/, 'must be printable ASCII without spaces or ":"')
      .optional(),
  })
  .strict();

/** The target credentials as the API shows them: never the token. */
export const targetCredentialsResponse = z
  .object({
    tokenSet: z.boolean().describe('whether an https token is stored (sealed) for TARGET_REPO_URL'),
    username: z.string().nullable().describe('the user name sent with the token; null: the default x-access-token'),
    updatedAt: z.string().nullable(),
    updatedBy: z.string().nullable(),
  })
  .meta({ id: 'TargetCredentials' });

/** Target credentials as they leave the server: whether a token is set, never the token. */
export function presentTargetCredentials(s: TargetCredentialsSettings): z.infer<typeof targetCredentialsResponse> {
  return {
    tokenSet: s.tokenSet,
    username: s.username,
    updatedAt: s.updatedAt?.toISOString() ?? null,
    updatedBy: s.updatedBy,
  };
}

const responses = {
  200: { description: 'whether target credentials are set (never the token)', schema: targetCredentialsResponse },
};
const errors = {
  503: '`encryption_not_configured` without DATA_ENCRYPTION_KEY, or `secret_unreadable`: the stored token was sealed under a key this server does not have',
};

/**
 * `/settings/target-credentials` (admin; audited): the https token git uses to fetch from and push to TARGET_REPO_URL,
 * stored sealed and given to git only through its environment. `secretsErrors` maps an unsealable store to 503.
 */
export function addTargetCredentialsRoutes(
  router: Router<AppState>,
  deps: { em: () => EntityManager; keys: EncryptionKeys; secretsErrors: Middleware<AppState> },
): void {
  const { em, keys, secretsErrors } = deps;
  const show = async () => presentTargetCredentials(await describeTargetCredentials(em(), keys));
  const audited: Middleware<AppState> = async (ctx, next) => {
    ctx.state.auditTarget = 'settings:target-credentials';
    await next();
  };

  router.get(
    '/target-credentials',
    doc({ summary: 'Whether an https token is stored for the remote target', role: 'admin', responses, errors }),
    requireRole('admin'),
    secretsErrors,
    async (ctx) => {
      ctx.body = await show();
    },
  );

  router.put(
    '/target-credentials',
    doc({
      summary: 'Store the https token (and user name) git uses for TARGET_REPO_URL, sealed; needs DATA_ENCRYPTION_KEY',
      role: 'admin',
      body: putTargetCredentialsBody,
      responses,
      errors,
    }),
    requireRole('admin'),
    audited,
    secretsErrors,
    async (ctx) => {
      const body = parse(putTargetCredentialsBody, ctx.request.body);
      await saveTargetCredentials(em(), keys, body, ctx.state.auth?.name ?? null);
      ctx.body = await show();
    },
  );

  router.delete(
    '/target-credentials',
    doc({ summary: 'Remove the stored target credentials', role: 'admin', responses, errors }),
    requireRole('admin'),
    audited,
    secretsErrors,
    async (ctx) => {
      await clearTargetCredentials(em());
      ctx.body = await show();
    },
  );
}
