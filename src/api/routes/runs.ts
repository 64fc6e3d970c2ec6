import { randomUUID } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { Config } from '../../config';
import { agentRunWorkflowId, type AgentRunInput } from '../../contracts';
import { Agent, AgentRun, AGENT_RUN_STATUSES, type AgentRunKind } from '../../db/entities';
import type { AgentId } from '../../domain/agents';
import { conflict } from '../errors';
import { page, paginationQuery } from '../pagination';
import type { AppContext } from '../types';
import { parse } from '../validate';
import { presentRun } from './runs.presenter';

type Deps = { orm: MikroORM; temporal: Client; config: Config };

export const listRunsQuery = paginationQuery.extend({ status: z.enum(AGENT_RUN_STATUSES).optional() });

/**
 * The handler that starts one of an agent's own workflows on demand: 409 while the agent is paused, else 202 with the
 * workflow id and its status URL (plus whatever `links` adds), audited on the workflow.
 */
export function startAgentRun(
  { orm, temporal, config }: Deps,
  spec: { agentId: AgentId; workflowType: string; idKind: Parameters<typeof agentRunWorkflowId>[0]; links?: (workflowId: string) => Record<string, string> },
): (ctx: AppContext) => Promise<void> {
  return async (ctx) => {
    const agent = await (orm.em as EntityManager).findOneOrFail(Agent, { id: spec.agentId });
    if (agent.status === 'paused') throw conflict(`agent ${spec.agentId} is paused`);
    const workflowId = agentRunWorkflowId(spec.idKind, randomUUID());
    const input: AgentRunInput = { trigger: 'api', requestedBy: ctx.state.auth?.name };
    await temporal.workflow.start(spec.workflowType, { taskQueue: config.temporal.taskQueue, workflowId, args: [input] });
    ctx.state.auditTarget = `workflow:${workflowId}`;
    ctx.status = 202;
    ctx.body = { workflowId, statusUrl: `/api/workflows/${workflowId}`, ...spec.links?.(workflowId) };
  };
}

/** The handler that lists one kind of agent run, newest first, paginated, optionally by status. */
export function listAgentRuns(orm: MikroORM, kind: AgentRunKind): (ctx: AppContext) => Promise<void> {
  return async (ctx) => {
    const q = parse(listRunsQuery, ctx.query);
    const [runs, total] = await (orm.em as EntityManager).findAndCount(AgentRun, { kind, ...(q.status && { status: q.status }) }, { orderBy: { startedAt: 'desc', id: 'asc' }, limit: q.limit, offset: q.offset });
    ctx.body = page(runs.map(presentRun), total, q);
  };
}
