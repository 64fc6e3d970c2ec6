import type { AgentRunInput, GuardianScanResult } from '../src/contracts';
import { agentRun } from './agent-run';
import { describeFailure } from './failures';
import { proxyByKind } from './queues';

/**
 * Guardian's security scan (ARCHITECTURE §3.3): scanners on a temporary worktree → findings deduplicated against the
 * open ones (gone → resolved) → the model triages the new ones (skipped, and said so, without a provider) →
 * `security_finding` notifications for high/critical → the run is recorded as completed (or failed, with the cause).
 */
export async function guardianScanWorkflow(input: AgentRunInput): Promise<GuardianScanResult> {
  const t = { scanMs: 300_000, llmMs: 300_000, dbMs: 30_000, ...input.timeouts };
  const db = proxyByKind({ startToCloseTimeout: t.dbMs, retry: { maximumAttempts: 10 } });
  const hb = t.heartbeatMs === undefined ? {} : { heartbeatTimeout: t.heartbeatMs };
  const scanner = proxyByKind({
    startToCloseTimeout: t.scanMs,
    ...hb,
    retry: { initialInterval: '5 seconds', maximumAttempts: 3 },
  });
  const llm = proxyByKind({
    startToCloseTimeout: t.llmMs,
    ...hb,
    retry: { initialInterval: '2 seconds', maximumAttempts: 5 },
  });

  return agentRun(db, { agentId: 'guardian', kind: 'guardian_scan', input }, async (runId, enter) => {
    enter('scan');
    const scan = await scanner.guardianScan(runId);
    const fresh = [...scan.newIds, ...scan.reopenedIds];

    enter('triage');
    let triage: GuardianScanResult['triage'];
    try {
      triage = await llm.guardianTriage(runId, fresh);
    } catch (err) {
      // Non-LLM work stands on its own: a scan without a model is still a scan.
      triage = { triaged: 0, unavailable: describeFailure(err) };
    }

    enter('notify');
    await db.guardianNotify(fresh);

    const findings = {
      total: scan.total,
      new: scan.newIds.length,
      reopened: scan.reopenedIds.length,
      resolved: scan.resolved,
    };
    const result: GuardianScanResult = {
      runId,
      status: 'completed',
      commit: scan.commit,
      findings,
      tools: scan.tools,
      triage,
    };
    return { result, summary: { findings, triage } };
  });
}
