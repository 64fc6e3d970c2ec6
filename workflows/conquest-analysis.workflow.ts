import type { AgentRunInput, ConquestAnalysisResult } from '../src/contracts';
import { agentRun } from './agent-run';
import { describeFailure } from './failures';
import { proxyByKind } from './queues';

/**
 * Conquest's performance analysis (ARCHITECTURE §3.5): measure the target in the sandbox, compare each figure with
 * its recent median, record regressions as findings and notifications, and keep the backend's own figures on the run;
 * then the model explains the hot spots as findings (skipped, and said so, without a provider).
 */
export async function conquestAnalysisWorkflow(input: AgentRunInput): Promise<ConquestAnalysisResult> {
  const t = { scanMs: 300_000, llmMs: 300_000, dbMs: 30_000, ...input.timeouts };
  const db = proxyByKind({ startToCloseTimeout: t.dbMs, retry: { maximumAttempts: 10 } });
  const hb = t.heartbeatMs === undefined ? {} : { heartbeatTimeout: t.heartbeatMs };
  const measurer = proxyByKind({
    startToCloseTimeout: t.scanMs,
    ...hb,
    retry: { initialInterval: '5 seconds', maximumAttempts: 3 },
  });
  const llm = proxyByKind({
    startToCloseTimeout: t.llmMs,
    ...hb,
    retry: { initialInterval: '2 seconds', maximumAttempts: 5 },
  });

  return agentRun(db, { agentId: 'conquest', kind: 'conquest_analysis', input }, async (runId, enter) => {
    enter('measure');
    const m = await measurer.conquestMeasure(runId);

    enter('explain');
    let explain: ConquestAnalysisResult['explain'];
    try {
      explain = await llm.conquestExplain(runId);
    } catch (err) {
      // The measurement stands on its own: figures without a model are still figures.
      explain = { unavailable: describeFailure(err) };
    }

    const result: ConquestAnalysisResult = {
      runId,
      status: 'completed',
      commit: m.commit,
      ok: m.ok,
      samples: m.samples,
      regressions: m.regressions,
      explain,
    };
    return { result, summary: { regressions: m.regressions, explain } };
  });
}
