import { ApplicationFailure } from '@temporalio/common';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../src/config';
import { detectRunner, type PackageManifest, type TestRunner } from '../src/domain/test-results';
import type { Sandbox, SandboxIsolation } from '../src/sandbox';
import {
  withWorkspace,
  workspaceContext,
  WorkspaceError,
  type SetupOutcome,
  type Workspace,
  type WorkspaceOptions,
} from '../src/target';
import { recordRunStep, storeRunSummary } from './runs.activities';

/**
 * The one way an activity runs target code: `fn` on a workspace (worktree + installed dependencies) of `repoPath`. A
 * setup that fails or a command that cannot start becomes an ApplicationFailure of type TargetSetupFailed or
 * TargetCommandUnavailable carrying the reason — non-retryable, except an install that could not reach the registry —
 * so the run or proposal ends failed with that reason instead of completing on an empty result.
 */
export async function inWorkspace<T>(
  deps: { config: Config; sandbox: Sandbox },
  repoPath: string,
  fn: (ws: Workspace) => Promise<T>,
  opts?: WorkspaceOptions,
): Promise<T> {
  try {
    return await withWorkspace(workspaceContext(deps.config, deps.sandbox), repoPath, fn, opts);
  } catch (err) {
    if (err instanceof WorkspaceError)
      throw ApplicationFailure.create({ message: err.message, type: err.type, nonRetryable: !err.retryable });
    throw err;
  }
}

/** One line for a run's `setup` step: `npm ci --ignore-scripts: cache hit in 12 ms`. */
export function describeSetup(setup: SetupOutcome): string {
  if (setup.manager === 'none') return `no install: ${setup.note ?? 'nothing to install'}`;
  const how = setup.cacheHit
    ? `cache hit in ${setup.durationMs} ms`
    : `installed in ${setup.durationMs} ms (cache miss, ${setup.network ? 'with network' : 'offline'})`;
  return `${setup.command ?? setup.manager}: ${how}${setup.note === undefined ? '' : `; ${setup.note}`}`;
}

/**
 * Stores the setup on the run (`summary.setup`), records it as a `setup` step (or `step`), and stores the isolation
 * mode the run's target code runs under (ARCHITECTURE §2: shown on every run).
 */
export async function recordSetup(
  orm: MikroORM,
  runId: string,
  setup: SetupOutcome,
  isolation: SandboxIsolation,
  step = 'setup',
): Promise<void> {
  if (step === 'setup') await storeRunSummary(orm, runId, { setup });
  await orm.em.getConnection().execute('update agent_runs set isolation = ? where id = ?', [isolation, runId], 'run');
  await recordRunStep(orm, runId, step, describeSetup(setup));
}

/** The test runner of the workspace's test command, from its package.json (`unknown` without one). */
export async function workspaceRunner(ws: Workspace, testCmd: string): Promise<TestRunner> {
  const manifest = await ws.read('package.json').then(
    (text) => JSON.parse(text) as PackageManifest,
    () => null,
  );
  return detectRunner(manifest !== null && typeof manifest === 'object' ? manifest : null, testCmd);
}
