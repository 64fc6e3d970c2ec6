import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../src/config';
import { Agent, AgentRun, Repository, type AgentRunKind, type AgentRunStatus } from '../src/db/entities';
import { syncTargetRepository } from '../src/db/repositories';
import type { AgentId } from '../src/domain/agents';
import { resolveTargetRepository, type ResolvedTarget } from '../src/target';

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

/** The target repository a run works on, and its `repositories` row (created on first use). */
export async function runTarget(orm: MikroORM, config: Config): Promise<{ target: ResolvedTarget; repo: Repository }> {
  const em = orm.em.fork();
  const target = await resolveTargetRepository(config);
  const repo =
    (await em.findOne(Repository, { path: target.path })) ??
    (await syncTargetRepository(em as EntityManager, { repoPath: target.path, testCmd: target.testCmd, benchCmd: target.benchCmd }));
  if (repo === null) throw new Error('no target repository');
  return { target, repo };
}

/** Merges `summary` into the run's stored summary and, when given, records the commit and repository it ran on. */
export async function storeRunSummary(orm: MikroORM, runId: string, summary: Record<string, unknown>, at?: { commit: string; repositoryId: string }): Promise<void> {
  await orm.em.getConnection().execute(
    'update agent_runs set summary = summary || ?::jsonb, commit = coalesce(?, commit), repository_id = coalesce(?, repository_id) where id = ?',
    [JSON.stringify(summary), at?.commit ?? null, at?.repositoryId ?? null, runId],
    'run',
  );
}
