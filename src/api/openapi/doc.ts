import type { Middleware } from 'koa';
import type { z } from 'zod';
import type { ApiKeyRole } from '../../db/entities';

/** What the OpenAPI document says of one route (ARCHITECTURE §5): its inputs as the zod schemas that validate them. */
export interface RouteDoc {
  summary: string;
  /** the least role that may call it; `public` for routes outside `/api` auth */
  role: ApiKeyRole | 'public';
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /**
   * Success status → description and the zod schema of the body (the handler's presenter returns `z.infer` of it, so
   * they cannot drift; the OpenAPI test checks real answers against it). A stream (`stream: true`) has no schema; a
   * body that is not JSON names its `mediaType` instead (`text/html`).
   */
  responses?: Record<number, { description: string; schema?: z.ZodType; mediaType?: string }>;
  /** `text/event-stream` routes */
  stream?: boolean;
  /**
   * The route's own failures beyond the ones every route of its kind can answer (400 with input, 401/403/429/503 under
   * `/api`, 404 with a path id, 413/415 with a body): status → when. 409 is listed only here, where conflicts exist.
   */
  errors?: Partial<Record<404 | 409 | 503, string>>;
  tags?: string[];
}

const DOC = Symbol.for('lvlup.openapi.doc');

/**
 * Route metadata as a pass-through middleware, placed first on every route: `router.get(path, doc({...}), requireRole(…),
 * handler)`. The OpenAPI generator reads it from the router's layers; a route without one fails the OpenAPI test.
 */
export function doc(meta: RouteDoc): Middleware & { [DOC]: RouteDoc } {
  const middleware = ((_ctx, next) => next()) as Middleware & { [DOC]: RouteDoc };
  middleware[DOC] = meta;
  return middleware;
}

/** The RouteDoc of a layer's middleware stack, if it has one. */
export function docOf(stack: readonly unknown[]): RouteDoc | undefined {
  for (const fn of stack) {
    const meta = (fn as { [DOC]?: RouteDoc } | null)?.[DOC];
    if (meta !== undefined) return meta;
  }
  return undefined;
}
