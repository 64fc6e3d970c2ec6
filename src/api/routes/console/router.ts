import Router from '@koa/router';
import type { z } from 'zod';
import type { Config } from '../../../config';
import { doc } from '../../openapi/doc';
import type { AppState } from '../../types';
import { consoleConfigResponse } from './schema';

/**
 * `/console-config.json` (public, outside `/api`): what the web console needs before sign-in — where the Temporal UI is,
 * so it can link each workflow to its run. `temporalUiUrl` null means "this host, port `temporalUiPort`".
 */
export function consoleRouter({ config }: { config: Config }): Router<AppState> {
  const router = new Router<AppState>();
  const body = {
    temporalUiUrl: config.temporal.uiUrl ?? null,
    temporalUiPort: config.temporal.uiPort,
    namespace: config.temporal.namespace,
  } satisfies z.infer<typeof consoleConfigResponse>;
  router.get(
    '/console-config.json',
    doc({
      summary: "The web console's settings: the Temporal UI's address and namespace",
      role: 'public',
      tags: ['system'],
      responses: { 200: { description: 'the settings', schema: consoleConfigResponse } },
    }),
    (ctx) => {
      ctx.set('Cache-Control', 'no-cache');
      ctx.body = body;
    },
  );
  return router;
}
