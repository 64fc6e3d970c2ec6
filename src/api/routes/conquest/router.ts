import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { Config } from '../../../config';
import { agentRunWorkflowId, CONQUEST_ANALYSIS_WORKFLOW, type AgentRunInput } from '../../../contracts';
import { Agent, AgentRun, AGENT_RUN_STATUSES, PerformanceSample } from '../../../db/entities';
import { performanceVerdict } from '../../../domain/performance';
import { conflict } from '../../errors';
import { requireRole } from '../../middleware/auth';
import { page, paginationQuery } from '../../pagination';
import type { AppState } from '../../types';
import { parse } from '../../validate';
import { presentRun } from '../runs.presenter';

const listQuery = paginationQuery.extend({ status: z.enum(AGENT_RUN_STATUSES).optional() });
const performanceQuery = z.object({ measure: z.string().min(1).max(200).optional(), limit: z.coerce.number().int().min(1).max(100).default(20) });

/** `/conquest`: start an analysis (operator), list analyses and the measured performance history (viewer). */
export function conquestRouter({ orm, temporal, config }: { orm: MikroORM; temporal: Client; config: Config }): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/conquest' });
  const em = () => orm.em as EntityManager;

  router.post('/analyses', requireRole('operator'), async (ctx) => {
    const conquest = await em().findOneOrFail(Agent, { id: 'conquest' });
    if (conquest.status === 'paused') throw conflict('agent conquest is paused');
    const workflowId = agentRunWorkflowId('conquest-analysis', randomUUID());
    const input: AgentRunInput = { trigger: 'api', requestedBy: ctx.state.auth?.name };
    await temporal.workflow.start(CONQUEST_ANALYSIS_WORKFLOW, { taskQueue: config.temporal.taskQueue, workflowId, args: [input] });
    ctx.state.auditTarget = `workflow:${workflowId}`;
    ctx.status = 202;
    ctx.body = { workflowId, statusUrl: `/api/workflows/${workflowId}` };
  });

  router.get('/analyses', requireRole('viewer'), async (ctx) => {
    const q = parse(listQuery, ctx.query);
    const [runs, total] = await em().findAndCount(AgentRun, { kind: 'conquest_analysis', ...(q.status && { status: q.status }) }, { orderBy: { startedAt: 'desc', id: 'asc' }, limit: q.limit, offset: q.offset });
    ctx.body = page(runs.map(presentRun), total, q);
  });

  router.get('/performance', requireRole('viewer'), async (ctx) => {
    const q = parse(performanceQuery, ctx.query);
    const names = q.measure !== undefined ? [q.measure] : ((await em().getConnection().execute('select distinct name from performance_samples order by name')) as Array<{ name: string }>).map((r) => r.name);
    const measures = [];
    for (const name of names) {
      const samples = (await em().find(PerformanceSample, { name }, { orderBy: { at: 'desc', id: 'desc' }, limit: q.limit })).reverse();
      const latest = samples.at(-1);
      measures.push({
        name,
        latest: latest === undefined ? null : { ...performanceVerdict(samples.slice(0, -1).map((s) => s.ms), latest.ms), commit: latest.commit, at: latest.at.toISOString() },
        samples: samples.map((s) => ({ ms: s.ms, commit: s.commit, source: s.source, runId: s.runId, at: s.at.toISOString() })),
      });
    }
    ctx.body = { measures };
  });

  return router;
}
