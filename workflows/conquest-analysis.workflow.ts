import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { AgentRunInput, ConquestAnalysisResult } from '../src/contracts';
import { agentRun } from './agent-run';

/**
 * Conquest's performance analysis (ARCHITECTURE §3.5): measure the target in the sandbox, compare each figure with
 * its recent median, record regressions as findings and notifications, and keep the backend's own figures on the run.
 */
export async function conquestAnalysisWorkflow(input: AgentRunInput): Promise<ConquestAnalysisResult> {
  const t = { scanMs: 300_000, dbMs: 30_000, ...input.timeouts };
  const db = proxyActivities<Activities>({ startToCloseTimeout: t.dbMs, retry: { maximumAttempts: 10 } });
  const measurer = proxyActivities<Activities>({ startToCloseTimeout: t.scanMs, retry: { initialInterval: '5 seconds', maximumAttempts: 3 } });

  return agentRun(db, { agentId: 'conquest', kind: 'conquest_analysis', input }, async (runId, enter) => {
    enter('measure');
    const m = await measurer.conquestMeasure(runId);
    const result: ConquestAnalysisResult = { runId, status: 'completed', commit: m.commit, ok: m.ok, samples: m.samples, regressions: m.regressions };
    return { result, summary: { regressions: m.regressions } };
  });
}
