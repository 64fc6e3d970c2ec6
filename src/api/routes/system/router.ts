import Router from '@koa/router';
import type { Client } from '@temporalio/client';
import type { z } from 'zod';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../../../config';
import { isolationSummary, liveWorkers, queueCoverage } from '../../../db/workers';
import type { Metrics } from '../../../metrics';
import { temporalAnswers } from '../../../temporal/client';
import { requireRole } from '../../middleware/auth';
import { doc } from '../../openapi/doc';
import type { OpenApiDocument } from '../../openapi/generate';
import { renderDocsPage } from '../../openapi/html';
import type { AppState } from '../../types';
import { healthResponse, meResponse, openApiResponse, readyResponse, systemResponse } from './schema';

const CHECK_TIMEOUT_MS = 2000;

/**
 * Liveness, readiness (database and Temporal reachable), Prometheus metrics and the human-readable API docs, outside
 * `/api` and its auth. `openApi` gives the document of every route the app serves.
 */
export function systemRouter(deps: {
  config: Config;
  orm: MikroORM;
  temporal: Client;
  metrics: Metrics;
  openApi: () => OpenApiDocument;
}): Router<AppState> {
  const router = new Router<AppState>();
  let docsPage: string | undefined;

  router.get(
    '/healthz',
    doc({
      summary: 'Liveness: the process answers',
      role: 'public',
      responses: { 200: { description: 'alive', schema: healthResponse } },
    }),
    (ctx) => {
      ctx.body = { status: 'ok' } satisfies z.infer<typeof healthResponse>;
    },
  );

  const readyDoc = doc({
    summary:
      'Readiness: PostgreSQL and Temporal reachable; also the isolation mode the live workers run target code under and how many live workers poll each task queue',
    role: 'public',
    responses: {
      200: { description: 'ready', schema: readyResponse },
      503: { description: 'PostgreSQL or Temporal unreachable (the error details say which)' },
    },
  });
  router.get('/readyz', readyDoc, async (ctx) => {
    const { checks, sandbox, queues } = await systemChecks(deps);
    const down = Object.entries(checks)
      .filter(([, v]) => v === 'down')
      .map(([k]) => k);
    ctx.status = down.length === 0 ? 200 : 503;
    ctx.body =
      down.length === 0
        ? ({
            status: 'ready',
            checks,
            sandbox: { isolation: sandbox.isolation, workers: sandbox.workers.length },
            queues,
          } satisfies z.infer<typeof readyResponse>)
        : {
            error: {
              code: 'service_unavailable',
              message: `not ready: ${down.join(' and ')} unreachable`,
              details: checks,
            },
          };
  });

  router.get(
    '/metrics',
    doc({
      summary: 'Prometheus metrics (text exposition format)',
      role: 'public',
      responses: { 200: { description: 'the metrics', mediaType: 'text/plain' } },
    }),
    async (ctx) => {
      ctx.type = deps.metrics.registry.contentType;
      ctx.body = await deps.metrics.registry.metrics();
    },
  );

  router.get(
    '/docs',
    doc({
      summary: 'This API described for people: an HTML page rendered from the OpenAPI document',
      role: 'public',
      responses: { 200: { description: 'an HTML page', mediaType: 'text/html' } },
    }),
    (ctx) => {
      docsPage ??= renderDocsPage(deps.openApi());
      ctx.type = 'html';
      ctx.body = docsPage;
    },
  );

  return router;
}

/**
 * The system routes under `/api` and its auth: the caller's own identity, the system's state (dependencies, the live
 * workers' sandbox isolation, which LLM providers are configured) and the OpenAPI document (viewer).
 */
export function systemApiRouter(deps: {
  config: Config;
  orm: MikroORM;
  temporal: Client;
  openApi: () => OpenApiDocument;
}): Router<AppState> {
  const { openApi } = deps;
  const router = new Router<AppState>();
  router.get(
    '/system',
    doc({
      summary:
        'System state: PostgreSQL and Temporal, the live workers with their sandbox isolation and limits, the live workers per task queue, the LLM providers configured',
      role: 'viewer',
      tags: ['system'],
      responses: {
        200: { description: 'the dependencies, the live workers and the LLM providers', schema: systemResponse },
      },
    }),
    requireRole('viewer'),
    async (ctx) => {
      const { checks, sandbox, queues } = await systemChecks(deps);
      const { llm } = deps.config;
      const profile = (p: { provider: string; model: string } | undefined) =>
        p === undefined ? null : `${p.provider}:${p.model}`;
      ctx.body = {
        ...checks,
        sandbox,
        queues,
        llm: {
          providers: [...(llm.openai ? ['openai' as const] : []), ...(llm.anthropic ? ['anthropic' as const] : [])],
          profiles: {
            primary: profile(llm.profiles.primary),
            fallback: profile(llm.profiles.fallback),
            examiner: profile(llm.profiles.examiner),
            judge: profile(llm.profiles.judge),
          },
        },
      } satisfies z.infer<typeof systemResponse>;
    },
  );
  // A client (the web console) learns which actions to offer from the key's role, instead of trying them for a 403.
  router.get(
    '/me',
    doc({
      summary: "The calling key's name and role",
      role: 'viewer',
      tags: ['system'],
      responses: { 200: { description: 'the key', schema: meResponse } },
    }),
    requireRole('viewer'),
    (ctx) => {
      const auth = ctx.state.auth;
      ctx.body = { name: auth?.name ?? null, role: auth?.role ?? null } satisfies z.infer<typeof meResponse>;
    },
  );
  router.get(
    '/openapi.json',
    doc({
      summary: 'This API as an OpenAPI 3.1 document, generated from the routes and their zod schemas',
      role: 'viewer',
      tags: ['system'],
      responses: { 200: { description: 'the OpenAPI document', schema: openApiResponse } },
    }),
    requireRole('viewer'),
    (ctx) => {
      ctx.body = openApi();
    },
  );
  return router;
}

/**
 * Dependencies up or down, the sandbox isolation the live workers reported, and the live workers per task queue (read
 * only when the database answers).
 */
async function systemChecks(deps: { config: Pick<Config, 'temporal'>; orm: MikroORM; temporal: Client }) {
  const [database, temporal] = await Promise.all([
    databaseAnswers(deps.orm),
    temporalAnswers(deps.temporal.connection, CHECK_TIMEOUT_MS),
  ]);
  const workers = database ? await liveWorkers(deps.orm).catch(() => []) : [];
  return {
    checks: {
      database: database ? ('up' as const) : ('down' as const),
      temporal: temporal ? ('up' as const) : ('down' as const),
    },
    sandbox: { isolation: isolationSummary(workers), workers },
    queues: queueCoverage(workers, deps.config.temporal.taskQueue),
  };
}

async function databaseAnswers(orm: MikroORM): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS);
  });
  try {
    const query = orm.em
      .fork()
      .getConnection()
      .execute('select 1')
      .then(
        () => true,
        () => false,
      );
    return await Promise.race([query, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
