import type { MikroORM } from '@mikro-orm/postgresql';
import { Agent, AgentRun, type AgentRunKind, type AgentRunStatus } from '../src/db/entities';
import type { AgentId } from '../src/domain/agents';

export interface BeginRunInput {
  runId: string;
  workflowId: string;
  agentId: AgentId;
  kind: AgentRunKind;
  trigger: string;
  requestedBy?: string;
}

/** Run rows shared by every agent workflow: begun (or skipped for a paused agent), steps recorded, finished. */
export function createRunActivities({ orm }: { orm: MikroORM }) {
  const conn = () => orm.em.getConnection();
  return {
    /** Stores the run keyed on its workflow id (a retry returns the same row); a paused agent's run is stored as skipped. */
    async beginAgentRun(input: BeginRunInput): Promise<{ runId: string; skipped: boolean; reason?: string }> {
      const em = orm.em.fork();
      const existing = await em.findOne(AgentRun, { workflowId: input.workflowId });
      if (existing !== null) return { runId: existing.id, skipped: existing.status === 'skipped', reason: existing.error ?? undefined };
      const agent = await em.findOneOrFail(Agent, { id: input.agentId });
      const run = new AgentRun({ ...input, id: input.runId, requestedBy: input.requestedBy ?? null });
      run.steps = [{ step: 'begin', at: new Date().toISOString() }];
      if (agent.status === 'paused') {
        run.status = 'skipped';
        run.error = `agent ${agent.id} is paused${agent.statusReason ? `: ${agent.statusReason}` : ''}`;
        run.completedAt = new Date();
      }
      await em.persistAndFlush(run);
      return { runId: run.id, skipped: run.status === 'skipped', reason: run.error ?? undefined };
    },

    /** Ends the run with its status, merging `summary` into the stored one. */
    async finishAgentRun(runId: string, status: Exclude<AgentRunStatus, 'running' | 'skipped'>, summary: Record<string, unknown>, error?: string): Promise<void> {
      await conn().execute(
        `update agent_runs set status = ?, summary = summary || ?::jsonb, error = ?, completed_at = now(),
                steps = steps || ?::jsonb where id = ? and status = 'running'`,
        [status, JSON.stringify(summary), error ?? null, JSON.stringify([{ step: status, at: new Date().toISOString(), ...(error && { detail: error.slice(0, 300) }) }]), runId],
        'run',
      );
    },
  };
}

/** Appends a step to a run's recorded progress. */
export async function recordRunStep(orm: MikroORM, runId: string, step: string, detail?: string): Promise<void> {
  await orm.em.getConnection().execute('update agent_runs set steps = steps || ?::jsonb where id = ?', [JSON.stringify([{ step, at: new Date().toISOString(), ...(detail !== undefined && { detail }) }]), runId], 'run');
}
