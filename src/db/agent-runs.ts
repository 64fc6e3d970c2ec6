import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { AgentId } from '../domain/agents';
import { Agent, AgentRun, type AgentRunKind, type AgentRunStatus } from './entities';

export interface BeginRunInput {
  runId: string;
  workflowId: string;
  agentId: AgentId;
  kind: AgentRunKind;
  trigger: string;
  requestedBy?: string;
}

/**
 * Stores an agent's run keyed on its workflow id — or finds the one stored before (`created: false`): the API stores
 * the row before it starts the workflow, so an accepted start is recorded whatever its begin step does later, and the
 * workflow's begin step adopts it. A paused agent's run is stored as skipped.
 */
export async function storeAgentRun(
  em: EntityManager,
  input: BeginRunInput,
): Promise<{ run: AgentRun; created: boolean }> {
  const existing = await em.findOne(AgentRun, { workflowId: input.workflowId });
  if (existing !== null) return { run: existing, created: false };
  const agent = await em.findOneOrFail(Agent, { id: input.agentId });
  const run = new AgentRun({ ...input, id: input.runId, requestedBy: input.requestedBy ?? null });
  run.steps = [{ step: 'begin', at: new Date().toISOString() }];
  if (agent.status === 'paused') {
    run.status = 'skipped';
    run.error = `agent ${agent.id} is paused${agent.statusReason ? `: ${agent.statusReason}` : ''}`;
    run.completedAt = new Date();
  }
  try {
    await em.persistAndFlush(run);
  } catch (err) {
    // A concurrent store of the same workflow's run won: that row is the run.
    if (!(err instanceof UniqueConstraintViolationException)) throw err;
    return { run: await em.fork().findOneOrFail(AgentRun, { workflowId: input.workflowId }), created: false };
  }
  return { run, created: true };
}

/** Ends a running run with `status` (a run already ended is left as it is: false), merging `summary` into the stored one. */
export async function finishRun(
  orm: MikroORM,
  runId: string,
  status: Exclude<AgentRunStatus, 'running' | 'skipped'>,
  summary: Record<string, unknown>,
  error?: string,
): Promise<boolean> {
  const ended = await orm.em.getConnection().execute<{ affectedRows: number }>(
    `update agent_runs set status = ?, summary = summary || ?::jsonb, error = ?, completed_at = now(),
            steps = steps || ?::jsonb where id = ? and status = 'running'`,
    [
      status,
      JSON.stringify(summary),
      error ?? null,
      JSON.stringify([{ step: status, at: new Date().toISOString(), ...(error && { detail: error.slice(0, 300) }) }]),
      runId,
    ],
    'run',
  );
  return ended.affectedRows > 0;
}
