import Koa from 'koa';
import Router from '@koa/router';
import compose from 'koa-compose';
import cors from '@koa/cors';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { auditLog } from './middleware/audit';
import { authenticate } from './middleware/auth';
import { parseJsonBody } from './middleware/body';
import { errorHandler } from './middleware/error-handler';
import { httpMetrics } from './middleware/http-metrics';
import type { RateLimitStore } from '../rate-limit-store';
import type { TableCache } from '../db/table-cache';
import { limitAuthFailures, rateLimit } from './middleware/rate-limit';
import { lazyRequestContext } from './middleware/lazy-request-context';
import { requestContext } from './middleware/request-context';
import { securityHeaders } from './middleware/security-headers';
import { isApiPath } from './api-path';
import { API_INFO, lazyOpenApiDocument } from './openapi/generate';
import { agentsRouter } from './routes/agents/router';
import { auditRouter } from './routes/audit/router';
import { consoleRouter } from './routes/console/router';
import { consoleAssets } from './routes/console/static';
import { conquestRouter } from './routes/conquest/router';
import { custodyRouter } from './routes/custody/router';
import { enhancedLearningRouter } from './routes/enhanced-learning/router';
import { guardianRouter } from './routes/guardian/router';
import { imperiumRouter } from './routes/imperium/router';
import { kpisRouter } from './routes/kpis/router';
import { notificationsRouter } from './routes/notifications/router';
import { proposalsRouter } from './routes/proposals/router';
import { reportsRouter } from './routes/reports/router';
import { sandboxRouter } from './routes/sandbox/router';
import { schedulesRouter } from './routes/schedules/router';
import { settingsRouter } from './routes/settings/router';
import { systemApiRouter, systemRouter } from './routes/system/router';
import { tokenUsageRouter } from './routes/token-usage/router';
import { workflowsRouter } from './routes/workflows/router';
import { SseStreams } from './sse';
import type { AppContext, AppState } from './types';

export interface AppDeps {
  config: Config;
  orm: MikroORM;
  temporal: Client;
  logger: Logger;
  metrics: Metrics;
  rateLimitStore: RateLimitStore;
  /** The agents' answers' cache (`listen` makes, starts and closes it); without it every read goes to the database. */
  agentsCache?: TableCache;
}

/** Builds the Koa application (never listens): the middleware chain of STYLE.md, then `/api` routers. */
export function createApp(deps: AppDeps): Koa<AppState> {
  const { config, orm, logger } = deps;
  const httpLogger = logger.child({ component: 'http' });
  const app = new Koa<AppState>({ proxy: config.api.trustProxy });

  app.use(errorHandler(httpLogger));
  app.use(requestContext(httpLogger));
  app.use(httpMetrics(deps.metrics));
  if (config.api.securityHeaders) app.use(securityHeaders());
  app.use(
    cors({
      origin: (ctx) => (config.api.corsOrigins.includes(ctx.get('Origin')) ? ctx.get('Origin') : ''),
      allowHeaders: ['Authorization', 'Content-Type', 'X-Request-Id', 'Last-Event-ID'],
      exposeHeaders: ['X-Request-Id', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'],
    }),
  );
  // Request bodies are parsed for /api routes only, behind the guard below: nothing is read for a caller not yet let in.
  // (The routes outside /api — health, metrics, OpenAPI, the console's files — take no body.)

  // Built on first request, from the routers mounted below: the document lists exactly what the app serves.
  const openApi = lazyOpenApiDocument(app, API_INFO);
  const system = systemRouter({ ...deps, openApi });
  app.use(system.routes());
  // The web console (built static files and its public settings), outside /api auth: it signs in with a key itself.
  app.use(consoleRouter(deps).routes());
  app.use(consoleAssets());

  // Applied to every path under /api, matched or not, so an unknown route without a key is a 401, not a 404. In order:
  // the audit row (it records every refusal after it), the per-IP limit on failed authentications around the key check,
  // the per-key rate limit, and only then the body.
  const guard = compose<AppContext>([
    auditLog(orm, httpLogger, deps.rateLimitStore),
    limitAuthFailures(deps.rateLimitStore, config.api.authFailureLimit, authenticate(orm)),
    ...(config.api.rateLimit.enabled ? [rateLimit(deps.rateLimitStore, config.api.rateLimit)] : []),
    parseJsonBody(config.api.bodyLimitBytes),
    lazyRequestContext(orm),
  ]);
  app.use((ctx, next) => (isApiPath(ctx.path) ? guard(ctx, next) : next()));

  const api = new Router<AppState>({ prefix: '/api' });
  // Every event stream of this process, for SSE_MAX_STREAMS_PER_KEY / SSE_MAX_STREAMS across both stream routes.
  const streams = new SseStreams(config.api.sse);
  for (const router of [
    agentsRouter(deps),
    auditRouter(deps),
    conquestRouter(deps),
    custodyRouter(deps),
    enhancedLearningRouter(deps),
    guardianRouter(deps),
    imperiumRouter(deps),
    proposalsRouter(deps),
    reportsRouter(deps),
    kpisRouter(deps),
    notificationsRouter({ ...deps, streams }),
    sandboxRouter(deps),
    schedulesRouter(deps),
    settingsRouter(deps),
    tokenUsageRouter(deps),
    workflowsRouter({ ...deps, streams }),
    systemApiRouter({ ...deps, openApi }),
  ])
    api.use(router.routes(), router.allowedMethods());
  app.use(api.routes());
  app.use(api.allowedMethods());
  return app;
}
