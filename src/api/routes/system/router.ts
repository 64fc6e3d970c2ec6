import Router from '@koa/router';
import type { Client } from '@temporalio/client';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Metrics } from '../../../metrics';
import { temporalAnswers } from '../../../temporal/client';
import { requireRole } from '../../middleware/auth';
import { doc } from '../../openapi/doc';
import type { OpenApiDocument } from '../../openapi/generate';
import { renderDocsPage } from '../../openapi/html';
import type { AppState } from '../../types';

const CHECK_TIMEOUT_MS = 2000;

/**
 * Liveness, readiness (database and Temporal reachable), Prometheus metrics and the human-readable API docs, outside
 * `/api` and its auth. `openApi` gives the document of every route the app serves.
 */
export function systemRouter(deps: { orm: MikroORM; temporal: Client; metrics: Metrics; openApi: () => OpenApiDocument }): Router<AppState> {
  const router = new Router<AppState>();
  let docsPage: string | undefined;

  router.get('/healthz', doc({ summary: 'Liveness: the process answers', role: 'public', responses: { 200: { description: 'alive' } } }), (ctx) => {
    ctx.body = { status: 'ok' };
  });

  const readyDoc = doc({ summary: 'Readiness: PostgreSQL and Temporal reachable', role: 'public', responses: { 200: { description: 'ready' }, 503: { description: 'PostgreSQL or Temporal unreachable (the error details say which)' } } });
  router.get('/readyz', readyDoc, async (ctx) => {
    const [database, temporal] = await Promise.all([databaseAnswers(deps.orm), temporalAnswers(deps.temporal.connection, CHECK_TIMEOUT_MS)]);
    const checks = { database: database ? 'up' : 'down', temporal: temporal ? 'up' : 'down' };
    const down = Object.entries(checks).filter(([, v]) => v === 'down').map(([k]) => k);
    ctx.status = down.length === 0 ? 200 : 503;
    ctx.body =
      down.length === 0
        ? { status: 'ready', checks }
        : { error: { code: 'service_unavailable', message: `not ready: ${down.join(' and ')} unreachable`, details: checks } };
  });

  router.get('/metrics', doc({ summary: 'Prometheus metrics (text exposition format)', role: 'public', responses: { 200: { description: 'the metrics' } } }), async (ctx) => {
    ctx.type = deps.metrics.registry.contentType;
    ctx.body = await deps.metrics.registry.metrics();
  });

  router.get('/docs', doc({ summary: 'This API described for people: an HTML page rendered from the OpenAPI document', role: 'public', responses: { 200: { description: 'an HTML page' } } }), (ctx) => {
    docsPage ??= renderDocsPage(deps.openApi());
    ctx.type = 'html';
    ctx.body = docsPage;
  });

  return router;
}

/** The system routes under `/api` and its auth: the caller's own identity and the OpenAPI document (viewer). */
export function systemApiRouter({ openApi }: { openApi: () => OpenApiDocument }): Router<AppState> {
  const router = new Router<AppState>();
  // A client (the web console) learns which actions to offer from the key's role, instead of trying them for a 403.
  router.get('/me', doc({ summary: "The calling key's name and role", role: 'viewer', tags: ['system'], responses: { 200: { description: '{name, role}' } } }), requireRole('viewer'), (ctx) => {
    const auth = ctx.state.auth;
    ctx.body = { name: auth?.name ?? null, role: auth?.role ?? null };
  });
  router.get(
    '/openapi.json',
    doc({ summary: 'This API as an OpenAPI 3.1 document, generated from the routes and their zod schemas', role: 'viewer', tags: ['system'], responses: { 200: { description: 'the OpenAPI document' } } }),
    requireRole('viewer'),
    (ctx) => {
      ctx.body = openApi();
    },
  );
  return router;
}

async function databaseAnswers(orm: MikroORM): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS);
  });
  try {
    const query = orm.em.fork().getConnection().execute('select 1').then(() => true, () => false);
    return await Promise.race([query, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
