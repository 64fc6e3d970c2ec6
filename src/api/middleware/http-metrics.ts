import type { Middleware } from 'koa';
import type { Metrics } from '../../metrics';
import type { AppState } from '../types';
import { toHttpError } from './error-handler';

/** Records duration and count per route template (never the raw path, which would explode label cardinality). */
export function httpMetrics(metrics: Metrics): Middleware<AppState> {
  return async (ctx, next) => {
    const end = metrics.httpRequestDuration.startTimer();
    let status = 500;
    try {
      await next();
      status = ctx.status;
    } catch (err) {
      status = toHttpError(err).status;
      throw err;
    } finally {
      const matched: unknown = (ctx as { _matchedRoute?: unknown })._matchedRoute;
      const labels = {
        method: ctx.method,
        route: typeof matched === 'string' ? matched : 'unmatched',
        status: String(status),
      };
      end(labels);
      metrics.httpRequests.inc(labels);
    }
  };
}
