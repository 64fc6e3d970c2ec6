import { proxyActivities, setHandler, uuid4, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { progressQuery, type AgentRunInput, type ConquestAnalysisResult, type WorkflowProgress } from '../src/contracts';
import { describeFailure } from './failures';

/**
 * Conquest's performance analysis (ARCHITECTURE §3.5): measure the target in the sandbox, compare each figure with
 * its recent median, record regressions as findings and notifications, and keep the backend's own figures on the run.
 */
export async function conquestAnalysisWorkflow(input: AgentRunInput): Promise<ConquestAnalysisResult> {
  const t = { scanMs: 300_000, dbMs: 30_000, ...input.timeouts };
  const db = proxyActivities<Activities>({ startToCloseTimeout: t.dbMs, retry: { maximumAttempts: 10 } });
  const measurer = proxyActivities<Activities>({ startToCloseTimeout: t.scanMs, retry: { initialInterval: '5 seconds', maximumAttempts: 3 } });

  const progress: WorkflowProgress = { step: 'begin', state: 'running', completedSteps: [] };
  setHandler(progressQuery, () => progress);

  const { workflowId } = workflowInfo();
  const begun = await db.beginAgentRun({ runId: uuid4(), workflowId, agentId: 'conquest', kind: 'conquest_analysis', trigger: input.trigger, requestedBy: input.requestedBy });
  if (begun.skipped) {
    progress.state = 'completed';
    return { runId: begun.runId, status: 'skipped' };
  }
  try {
    progress.completedSteps.push('begin');
    progress.step = 'measure';
    const m = await measurer.conquestMeasure(begun.runId);
    const result: ConquestAnalysisResult = { runId: begun.runId, status: 'completed', commit: m.commit, ok: m.ok, samples: m.samples, regressions: m.regressions };
    await db.finishAgentRun(begun.runId, 'completed', { regressions: m.regressions });
    progress.completedSteps.push('measure');
    progress.step = 'done';
    progress.state = 'completed';
    return result;
  } catch (err) {
    progress.state = 'failed';
    await db.finishAgentRun(begun.runId, 'failed', {}, describeFailure(err));
    throw err;
  }
}
