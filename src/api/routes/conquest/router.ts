import Router from '@koa/router';
import type { z } from 'zod';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { Config } from '../../../config';
import { CONQUEST_ANALYSIS_WORKFLOW } from '../../../contracts';
import { PerformanceSample } from '../../../db/entities';
import { performanceVerdict } from '../../../domain/performance';
import { requireRole } from '../../middleware/auth';
import { doc } from '../../openapi/doc';
import type { AppState } from '../../types';
import { parse } from '../../validate';
import { listAgentRuns, startAgentRun } from '../runs';
import { listRunsQuery, runPageResponse, startedRunResponse, startRunConflict } from '../runs.schema';
import { performanceQuery, performanceResponse } from './schema';

/** `/conquest`: start an analysis (operator), list analyses and the measured performance history (viewer). */
export function conquestRouter(deps: { orm: MikroORM; temporal: Client; config: Config }): Router<AppState> {
  const { orm } = deps;
  const router = new Router<AppState>({ prefix: '/conquest' });
  const em = () => orm.em as EntityManager;

  router.post(
    '/analyses',
    doc({
      summary: 'Start a Conquest analysis',
      role: 'operator',
      responses: {
        202: {
          description: 'started: the run id (the run is recorded from now on), the workflow id and its status URL',
          schema: startedRunResponse,
        },
      },
      errors: { 409: startRunConflict },
    }),
    requireRole('operator'),
    startAgentRun(deps, {
      agentId: 'conquest',
      kind: 'conquest_analysis',
      workflowType: CONQUEST_ANALYSIS_WORKFLOW,
      workflowId: 'conquest-analysis',
    }),
  );
  router.get(
    '/analyses',
    doc({
      summary: 'List Conquest analyses, newest first',
      role: 'viewer',
      query: listRunsQuery,
      responses: { 200: { description: 'a page of analyses', schema: runPageResponse } },
    }),
    requireRole('viewer'),
    listAgentRuns(orm, 'conquest_analysis'),
  );

  router.get(
    '/performance',
    doc({
      summary: 'Measured performance history and the latest verdict per measure',
      role: 'viewer',
      query: performanceQuery,
      responses: { 200: { description: 'the measures', schema: performanceResponse } },
    }),
    requireRole('viewer'),
    async (ctx) => {
      const q = parse(performanceQuery, ctx.query);
      const names =
        q.measure !== undefined
          ? [q.measure]
          : (
              (await em()
                .getConnection()
                .execute('select distinct name from performance_samples order by name')) as Array<{ name: string }>
            ).map((r) => r.name);
      const measures = [];
      for (const name of names) {
        const samples = (
          await em().find(PerformanceSample, { name }, { orderBy: { at: 'desc', id: 'desc' }, limit: q.limit })
        ).reverse();
        const latest = samples.at(-1);
        measures.push({
          name,
          latest:
            latest === undefined
              ? null
              : {
                  ...performanceVerdict(
                    samples.slice(0, -1).map((s) => s.ms),
                    latest.ms,
                    deps.config.conquest,
                    { current: latest.commit, previous: samples.slice(0, -1).map((s) => s.commit) },
                  ),
                  commit: latest.commit,
                  at: latest.at.toISOString(),
                },
          samples: samples.map((s) => ({
            ms: s.ms,
            commit: s.commit,
            source: s.source,
            runId: s.runId,
            at: s.at.toISOString(),
          })),
        });
      }
      ctx.body = { measures } satisfies z.infer<typeof performanceResponse>;
    },
  );

  return router;
}
