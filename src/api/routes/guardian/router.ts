import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import { raw } from '@mikro-orm/core';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { Config } from '../../../config';
import { agentRunWorkflowId, GUARDIAN_SCAN_WORKFLOW, type AgentRunInput } from '../../../contracts';
import { Agent, AgentRun, Finding } from '../../../db/entities';
import { conflict, notFound } from '../../errors';
import { requireRole } from '../../middleware/auth';
import { page } from '../../pagination';
import type { AppState } from '../../types';
import { parse } from '../../validate';
import { presentRun } from '../runs.presenter';
import { presentFinding } from './presenter';
import { dismissBody, findingParams, listFindingsQuery, listScansQuery } from './schema';

const SEVERITY_ORDER = `case severity when 'critical' then 0 when 'high' then 1 when 'medium' then 2 else 3 end`;

/** `/guardian`: start a scan (operator), list scans and findings (viewer), dismiss a finding (operator). */
export function guardianRouter({ orm, temporal, config }: { orm: MikroORM; temporal: Client; config: Config }): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/guardian' });
  const em = () => orm.em as EntityManager;

  router.post('/scans', requireRole('operator'), async (ctx) => {
    const guardian = await em().findOneOrFail(Agent, { id: 'guardian' });
    if (guardian.status === 'paused') throw conflict('agent guardian is paused');
    const workflowId = agentRunWorkflowId('guardian-scan', randomUUID());
    const input: AgentRunInput = { trigger: 'api', requestedBy: ctx.state.auth?.name };
    await temporal.workflow.start(GUARDIAN_SCAN_WORKFLOW, { taskQueue: config.temporal.taskQueue, workflowId, args: [input] });
    ctx.state.auditTarget = `workflow:${workflowId}`;
    ctx.status = 202;
    ctx.body = { workflowId, statusUrl: `/api/workflows/${workflowId}` };
  });

  router.get('/scans', requireRole('viewer'), async (ctx) => {
    const q = parse(listScansQuery, ctx.query);
    const [runs, total] = await em().findAndCount(AgentRun, { kind: 'guardian_scan', ...(q.status && { status: q.status }) }, { orderBy: { startedAt: 'desc', id: 'asc' }, limit: q.limit, offset: q.offset });
    ctx.body = page(runs.map(presentRun), total, q);
  });

  router.get('/findings', requireRole('viewer'), async (ctx) => {
    const q = parse(listFindingsQuery, ctx.query);
    const where = { kind: 'security' as const, ...(q.severity && { severity: q.severity }), ...(q.status && { status: q.status }), ...(q.tool && { tool: q.tool }) };
    const [findings, total] = await em().findAndCount(Finding, where, {
      orderBy: { [raw(SEVERITY_ORDER)]: 'asc', lastSeenAt: 'desc', id: 'asc' },
      limit: q.limit,
      offset: q.offset,
    });
    ctx.body = page(findings.map(presentFinding), total, q);
  });

  router.post('/findings/:id/dismiss', requireRole('operator'), async (ctx) => {
    const { id } = parse(findingParams, ctx.params);
    const { reason } = parse(dismissBody, ctx.request.body);
    const finding = await em().findOne(Finding, { id });
    if (finding === null) throw notFound(`finding "${id}"`);
    ctx.state.auditTarget = `finding:${id}`;
    if (finding.status === 'resolved') throw conflict('the finding is already resolved');
    Object.assign(finding, { status: 'dismissed', dismissedAt: new Date(), dismissedBy: ctx.state.auth?.name ?? null, dismissReason: reason });
    await em().flush();
    ctx.body = presentFinding(finding);
  });

  return router;
}
