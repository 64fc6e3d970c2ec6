import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { ApplicationFailure } from '@temporalio/activity';
import type { Config } from '../src/config';
import { loadEncryptionKeys, SecretsError } from '../src/crypto/secrets';
import { storeAgentRun, finishRun, type BeginRunInput } from '../src/db/agent-runs';
import { Repository, type AgentRunStatus } from '../src/db/entities';
import { syncTargetRepository } from '../src/db/repositories';
import { gitUrlKind } from '../src/domain/git-url';
import { RemoteTargetError, resolveTargetRepository, type GitCredentials, type ResolvedTarget } from '../src/target';
import { loadTargetCredentials } from '../src/target/credentials-settings';

/** Run rows shared by every agent workflow: begun (or skipped for a paused agent), steps recorded, finished. */
export function createRunActivities({ orm }: { orm: MikroORM }) {
  return {
    /**
     * Stores the run keyed on its workflow id, or adopts the one the API stored before starting the workflow (a retry
     * returns the same row); a paused agent's run is stored as skipped.
     */
    async beginAgentRun(input: BeginRunInput): Promise<{ runId: string; skipped: boolean; reason?: string }> {
      const { run } = await storeAgentRun(orm.em.fork(), input);
      return { runId: run.id, skipped: run.status === 'skipped', reason: run.error ?? undefined };
    },

    /** Ends the run with its status, merging `summary` into the stored one. */
    async finishAgentRun(
      runId: string,
      status: Exclude<AgentRunStatus, 'running' | 'skipped'>,
      summary: Record<string, unknown>,
      error?: string,
    ): Promise<void> {
      await finishRun(orm, runId, status, summary, error);
    },
  };
}

/** Appends a step to a run's recorded progress. */
export async function recordRunStep(orm: MikroORM, runId: string, step: string, detail?: string): Promise<void> {
  await orm.em
    .getConnection()
    .execute(
      'update agent_runs set steps = steps || ?::jsonb where id = ?',
      [JSON.stringify([{ step, at: new Date().toISOString(), ...(detail !== undefined && { detail }) }]), runId],
      'run',
    );
}

/**
 * The target repository a run works on — for a remote target the worker's mirror, fetched first, with the sealed
 * https credentials — and its `repositories` row (created on first use). Throws non-retryable `target_unavailable`
 * for a branch the remote lacks or credentials no configured key opens; a network failure is retried.
 */
export async function runTarget(orm: MikroORM, config: Config): Promise<{ target: ResolvedTarget; repo: Repository }> {
  const em = orm.em.fork() as EntityManager;
  let target: ResolvedTarget;
  try {
    target = await resolveTargetRepository(config, { credentials: await remoteCredentials(em, config) });
  } catch (err) {
    if (err instanceof RemoteTargetError || err instanceof SecretsError)
      throw ApplicationFailure.nonRetryable(err.message, 'target_unavailable');
    throw err;
  }
  const repo = (await em.findOne(Repository, { path: target.key })) ?? (await syncTargetRepository(em, target));
  return { target, repo };
}

/** The stored credentials, for an https remote only (ssh uses the worker's own key; a local path needs none). */
async function remoteCredentials(em: EntityManager, config: Config): Promise<GitCredentials | null> {
  const remote = config.target.remote;
  if (remote === undefined || gitUrlKind(remote.url) !== 'https') return null;
  return loadTargetCredentials(em, loadEncryptionKeys(config.encryption));
}

/** Merges `summary` into the run's stored summary and, when given, records the commit and repository it ran on. */
export async function storeRunSummary(
  orm: MikroORM,
  runId: string,
  summary: Record<string, unknown>,
  at?: { commit: string; repositoryId: string },
): Promise<void> {
  await orm.em
    .getConnection()
    .execute(
      'update agent_runs set summary = summary || ?::jsonb, commit = coalesce(?, commit), repository_id = coalesce(?, repository_id) where id = ?',
      [JSON.stringify(summary), at?.commit ?? null, at?.repositoryId ?? null, runId],
      'run',
    );
}
