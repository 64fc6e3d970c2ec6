import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';
import type { Middleware } from 'koa';

/**
 * Helmet's security headers (its defaults: CSP, HSTS, X-Content-Type-Options, X-Frame-Options, the Cross-Origin-*
 * policies…), worked out ONCE: helmet's defaults are the same for every response, so they are captured at startup by
 * running helmet on a stand-in response, and each request only sets them. Running helmet per request (koa-helmet: a
 * promise and a dozen small middlewares each time) was about a fifth of a cached `GET /api/agents`' cost (issue 17).
 */
export function securityHeaders(): Middleware {
  const headers: Array<[string, string]> = [];
  const removed: string[] = [];
  const stand = {
    setHeader: (name: string, value: unknown) => headers.push([name, String(value)]),
    removeHeader: (name: string) => removed.push(name),
    getHeader: () => undefined,
  } as unknown as ServerResponse;
  helmet()({} as IncomingMessage, stand, (err?: unknown) => {
    if (err !== undefined) throw err as Error;
  });
  if (headers.length === 0) throw new Error('helmet set no header: its API changed');
  return (ctx, next) => {
    for (const [name, value] of headers) ctx.res.setHeader(name, value);
    for (const name of removed) ctx.res.removeHeader(name);
    return next();
  };
}
