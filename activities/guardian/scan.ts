import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../../src/config';
import { AgentRun, Finding } from '../../src/db/entities';
import { withWorktree } from '../../src/target';
import { runSecurityScanners, type RawFinding, type ScanReport } from '../../src/target/scanners';
import { recordRunStep, runTarget, storeRunSummary } from '../runs.activities';

export interface ScanOutcome {
  commit: string;
  tools: Array<{ tool: string; status: string; detail: string }>;
  total: number;
  newIds: string[];
  reopenedIds: string[];
  resolved: number;
}

/**
 * Runs the security scanners on a temporary worktree of the target and folds the results into `findings`: seen again
 * → updated; new → inserted; resolved but back → reopened; dismissed stays dismissed; open ones a tool that ran did
 * not report any more → resolved. Stored on the run, so a retry after success returns the same outcome. Which findings
 * are new or reopened is read from the findings this run opened (`openedRunId`), never from what this attempt
 * inserted: an attempt retried after its fold committed (the outcome not yet stored) still reports them, so they are
 * triaged and notified.
 */
export async function scanTarget(deps: { orm: MikroORM; config: Config }, runId: string): Promise<ScanOutcome> {
  const em = deps.orm.em.fork() as EntityManager;
  const run = await em.findOneOrFail(AgentRun, { id: runId });
  const stored = run.summary.scan as ScanOutcome | undefined;
  if (stored !== undefined) return stored;

  const { target, repo } = await runTarget(deps.orm, deps.config);
  const { commit, report } = await withWorktree(target.path, async (wt) => ({
    commit: wt.baseCommit,
    report: await runSecurityScanners(wt.dir, { npmRegistry: deps.config.workspace.npmRegistry }),
  }));

  const outcome = await em.transactional((tx) => fold(tx, { repositoryId: repo.id, runId, report }));
  const result: ScanOutcome = {
    commit,
    tools: report.tools.map(({ tool, status, detail }) => ({ tool, status, detail })),
    ...outcome,
  };
  await storeRunSummary(deps.orm, runId, { scan: result }, { commit, repositoryId: repo.id });
  await recordRunStep(
    deps.orm,
    runId,
    'scan',
    `${result.total} findings: ${result.newIds.length} new, ${result.reopenedIds.length} reopened, ${result.resolved} resolved`,
  );
  return result;
}

async function fold(
  tx: EntityManager,
  ctx: { repositoryId: string; runId: string; report: ScanReport },
): Promise<Omit<ScanOutcome, 'commit' | 'tools'>> {
  const { repositoryId, runId, report } = ctx;
  const unique = new Map<string, RawFinding>();
  for (const f of report.findings) unique.set(f.fingerprint, f);
  const known = await tx.find(Finding, { repositoryId, kind: 'security', fingerprint: { $in: [...unique.keys()] } });
  const byFingerprint = new Map(known.map((f) => [f.fingerprint, f]));
  const now = new Date();
  for (const raw of unique.values()) {
    const existing = byFingerprint.get(raw.fingerprint);
    if (existing === undefined) {
      tx.persist(
        new Finding({
          repositoryId,
          agentId: 'guardian',
          kind: 'security',
          ...raw,
          firstRunId: runId,
          data: raw.data ?? {},
        }),
      );
      continue;
    }
    Object.assign(existing, {
      line: raw.line,
      message: raw.message,
      severity: raw.severity,
      lastRunId: runId,
      lastSeenAt: now,
    });
    if (existing.status === 'resolved')
      Object.assign(existing, { status: 'open', resolvedAt: null, openedRunId: runId });
  }
  // Only tools that ran can vouch that a finding is gone.
  const ranOk = report.tools.filter((t) => t.status === 'ok').map((t) => t.tool);
  const gone = await tx.find(Finding, {
    repositoryId,
    kind: 'security',
    status: 'open',
    tool: { $in: ranOk },
    fingerprint: { $nin: [...unique.keys()] },
  });
  for (const f of gone) Object.assign(f, { status: 'resolved', resolvedAt: now, lastRunId: runId });
  await tx.flush();
  // What this run opened, as stored: the same answer for a first attempt and for one retried after its fold committed.
  const opened = await tx.find(
    Finding,
    { repositoryId, kind: 'security', openedRunId: runId, status: 'open' },
    { orderBy: { firstSeenAt: 'asc', id: 'asc' } },
  );
  const resolved = await tx.count(Finding, { repositoryId, kind: 'security', lastRunId: runId, status: 'resolved' });
  return {
    total: unique.size,
    newIds: opened.filter((f) => f.firstRunId === runId).map((f) => f.id),
    reopenedIds: opened.filter((f) => f.firstRunId !== runId).map((f) => f.id),
    resolved,
  };
}
