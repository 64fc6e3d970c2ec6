import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../../src/config';
import type { TestRunSummary } from '../../src/contracts';
import { Proposal } from '../../src/db/entities';
import { checkDiff } from '../../src/domain';
import type { Sandbox } from '../../src/sandbox';
import { applyPatch, checkPatch, diffHash, withWorktree } from '../../src/target';
import { inWorkspace, workspaceRunner } from '../workspace';
import { summarize } from '../experiments/run';
import { runTarget } from '../runs.activities';
import { loadProposal } from './shared';

/** Proposals that never held a valid diff do not make a later one a duplicate. */
const NEVER_VALID = ['invalid', 'ineligible', 'failed', 'cancelled'];

export interface ValidationOutcome {
  ok: boolean;
  problems: string[];
  draft: number;
}

/**
 * Validates the current draft (ARCHITECTURE §3.6 step 3): it parses; every path stays inside the repository (no `..`,
 * absolute paths, `.git/`, symlink escapes, nothing that is a symlink or submodule in the base tree — see checkPatch);
 * at most PROPOSAL_MAX_CHANGED_LINES; applies cleanly to the base commit;
 * not a duplicate of another proposal's normalized diff. Stored on the proposal per draft.
 */
export async function validateProposal(
  deps: { orm: MikroORM; config: Config },
  proposalId: string,
): Promise<ValidationOutcome> {
  const em = deps.orm.em.fork() as EntityManager;
  const p = await loadProposal(em, proposalId);
  const stored = p.validation as (ValidationOutcome & { draft: number }) | null;
  if (stored !== null && stored.draft === p.drafts) return stored;
  if (p.diff === null || p.baseCommit === null) throw new Error(`proposal ${proposalId} has no draft to validate`);

  const check = checkDiff(p.diff, { maxChangedLines: deps.config.proposals.maxChangedLines });
  const problems = [...check.problems];
  const hash = diffHash(p.diff);
  if (check.ok) {
    const { target } = await runTarget(deps.orm, deps.config);
    const applies = await withWorktree(target.path, (wt) => checkPatch(wt.dir, p.diff ?? ''), p.baseCommit);
    if (!applies.applies)
      problems.push(`the diff does not apply to ${p.baseCommit.slice(0, 12)}: ${applies.error ?? 'unknown error'}`);
    const twin = await em.findOne(Proposal, {
      diffHash: hash,
      id: { $ne: p.id },
      status: { $nin: NEVER_VALID as Proposal['status'][] },
    });
    if (twin !== null)
      problems.push(`duplicate of proposal ${twin.id} (${twin.status}): the same change after normalization`);
  }
  const outcome: ValidationOutcome = { ok: problems.length === 0, problems, draft: p.drafts };
  p.validation = { ...outcome, diffHash: hash, files: check.files, changedLines: check.changedLines };
  if (outcome.ok) p.diffHash = hash;
  await em.flush();
  return outcome;
}

/**
 * The target's tests in the sandbox on a workspace with the current draft applied to the base commit (installed after
 * the patch); stored per draft with the setup. Throws TargetSetupFailed / TargetCommandUnavailable (non-retryable) when
 * the tests cannot run at all: the proposal then fails with that reason instead of being redrafted.
 */
export async function testProposal(
  deps: { orm: MikroORM; config: Config; sandbox: Sandbox },
  proposalId: string,
): Promise<{ ok: boolean; tests: TestRunSummary }> {
  const em = deps.orm.em.fork() as EntityManager;
  const p = await loadProposal(em, proposalId);
  const stored = p.tests as { draft: number; ok: boolean; tests: TestRunSummary } | null;
  if (stored !== null && stored.draft === p.drafts) return { ok: stored.ok, tests: stored.tests };
  if (p.diff === null || p.baseCommit === null) throw new Error(`proposal ${proposalId} has no draft to test`);
  const { target } = await runTarget(deps.orm, deps.config);
  const diff = p.diff;
  const { tests, setup } = await inWorkspace(
    deps,
    target.path,
    async (ws) => ({
      tests: summarize(await ws.run(target.testCmd), await workspaceRunner(ws, target.testCmd)),
      setup: ws.setup,
    }),
    {
      ref: p.baseCommit,
      // The patch goes in before the install: it may change package.json or the lockfile.
      prepare: (wt) => applyPatch(wt.dir, diff),
    },
  );
  p.tests = { draft: p.drafts, ok: tests.ok, tests, setup };
  await em.flush();
  return { ok: tests.ok, tests };
}
