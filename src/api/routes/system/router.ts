import Router from '@koa/router';
import type { Client } from '@temporalio/client';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Metrics } from '../../../metrics';
import { temporalAnswers } from '../../../temporal/client';
import type { AppState } from '../../types';

const CHECK_TIMEOUT_MS = 2000;

/** Liveness, readiness (database and Temporal reachable) and Prometheus metrics, outside `/api` and its auth. */
export function systemRouter(deps: { orm: MikroORM; temporal: Client; metrics: Metrics }): Router<AppState> {
  const router = new Router<AppState>();

  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  router.get('/readyz', async (ctx) => {
    const [database, temporal] = await Promise.all([databaseAnswers(deps.orm), temporalAnswers(deps.temporal.connection, CHECK_TIMEOUT_MS)]);
    const checks = { database: database ? 'up' : 'down', temporal: temporal ? 'up' : 'down' };
    const down = Object.entries(checks).filter(([, v]) => v === 'down').map(([k]) => k);
    ctx.status = down.length === 0 ? 200 : 503;
    ctx.body =
      down.length === 0
        ? { status: 'ready', checks }
        : { error: { code: 'service_unavailable', message: `not ready: ${down.join(' and ')} unreachable`, details: checks } };
  });

  router.get('/metrics', async (ctx) => {
    ctx.type = deps.metrics.registry.contentType;
    ctx.body = await deps.metrics.registry.metrics();
  });

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
