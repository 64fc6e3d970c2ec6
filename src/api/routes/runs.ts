import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Config } from '../../config';
import { agentRunWorkflowId, type AgentRunInput, type LearningCycleInput } from '../../contracts';
import { finishRun, storeAgentRun } from '../../db/agent-runs';
import { Agent, AgentRun, type AgentRunKind } from '../../db/entities';
import type { AgentId } from '../../domain/agents';
import { conflict, notFound } from '../errors';
import { page } from '../pagination';
import { activityTimeouts } from '../../temporal/activity-timeouts';
import type { AppContext } from '../types';
import { parse } from '../validate';
import { presentRun } from './runs.presenter';
import { listRunsQuery, runIdParams, type startedRunResponse } from './runs.schema';

type Deps = { orm: MikroORM; temporal: Client; config: Config };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The handler that starts one of an agent's own workflows on demand: 409 while the agent is paused, else the run row
 * stored first (keyed on the workflow id: the workflow's begin step adopts it, so an accepted start is recorded
 * whatever happens after), then the workflow started, and 202 with the run id, the workflow id and its status URL
 * (plus whatever `links` adds), audited on the workflow. A start Temporal refuses ends the row `failed` with the cause.
 */
export function startAgentRun(
  { orm, temporal, config }: Deps,
  spec: {
    agentId: AgentId;
    kind: AgentRunKind;
    workflowType: string;
    /** the new workflow's id: `<kind>-<uuid>` for a kind of agent run, or the id a function makes */
    workflowId: Parameters<typeof agentRunWorkflowId>[0] | (() => string);
    links?: (workflowId: string) => Record<string, string>;
  },
): (ctx: AppContext) => Promise<void> {
  return async (ctx) => {
    const agent = await (orm.em as EntityManager).findOneOrFail(Agent, { id: spec.agentId });
    if (agent.status === 'paused') throw conflict(`agent ${spec.agentId} is paused`);
    const workflowId =
      typeof spec.workflowId === 'function' ? spec.workflowId() : agentRunWorkflowId(spec.workflowId, randomUUID());
    const input: AgentRunInput & LearningCycleInput = {
      trigger: 'api',
      requestedBy: ctx.state.auth?.name,
      timeouts: activityTimeouts(config),
    };
    const { run, created } = await storeAgentRun(orm.em.fork() as EntityManager, {
      runId: randomUUID(),
      workflowId,
      agentId: spec.agentId,
      kind: spec.kind,
      trigger: input.trigger,
      requestedBy: input.requestedBy,
    });
    if (!created) throw conflict(`workflow ${workflowId} already has a run`, { workflowId, runId: run.id });
    try {
      await temporal.workflow.start(spec.workflowType, {
        taskQueue: config.temporal.taskQueue,
        workflowId,
        args: [input],
        workflowExecutionTimeout: `${config.workflowTimeouts.runSeconds}s`,
      });
    } catch (err) {
      await finishRun(orm, run.id, 'failed', {}, `the workflow could not be started: ${(err as Error).message}`);
      if (err instanceof WorkflowExecutionAlreadyStartedError)
        throw conflict(`workflow ${workflowId} is already running`, { workflowId });
      throw err;
    }
    ctx.state.auditTarget = `workflow:${workflowId}`;
    ctx.status = 202;
    ctx.body = {
      workflowId,
      runId: run.id,
      statusUrl: `/api/workflows/${workflowId}`,
      ...spec.links?.(workflowId),
    } satisfies z.infer<typeof startedRunResponse>;
  };
}

/** The handler that lists one kind of agent run, newest first, paginated, optionally by status. */
export function listAgentRuns(orm: MikroORM, kind: AgentRunKind): (ctx: AppContext) => Promise<void> {
  return async (ctx) => {
    const q = parse(listRunsQuery, ctx.query);
    const [runs, total] = await (orm.em as EntityManager).findAndCount(
      AgentRun,
      { kind, ...(q.status && { status: q.status }) },
      { orderBy: { startedAt: 'desc', id: 'asc' }, limit: q.limit, offset: q.offset },
    );
    ctx.body = page(runs.map(presentRun), total, q);
  };
}

/** The handler that reads one run of a kind by its id or its workflow id; 404 names `label`. */
export function getAgentRun(orm: MikroORM, kind: AgentRunKind, label: string): (ctx: AppContext) => Promise<void> {
  return async (ctx) => {
    const { id } = parse(runIdParams, ctx.params);
    const run = await (orm.em as EntityManager).findOne(AgentRun, {
      kind,
      ...(UUID.test(id) ? { id } : { workflowId: id }),
    });
    if (run === null) throw notFound(`${label} "${id}"`);
    ctx.body = presentRun(run);
  };
}
