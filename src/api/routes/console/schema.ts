import { z } from 'zod';

/** `/console-config.json`: `temporalUiUrl` null means "this host, port `temporalUiPort`". */
export const consoleConfigResponse = z.object({
  temporalUiUrl: z.string().nullable(),
  temporalUiPort: z.number().int(),
  namespace: z.string(),
});
