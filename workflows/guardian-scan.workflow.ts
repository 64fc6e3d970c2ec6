import { proxyActivities, setHandler, uuid4, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { describeFailure } from './failures';
import { progressQuery, type AgentRunInput, type GuardianScanResult, type WorkflowProgress } from '../src/contracts';

/**
 * Guardian's security scan (ARCHITECTURE §3.3): scanners on a temporary worktree → findings deduplicated against the
 * open ones (gone → resolved) → the model triages the new ones (skipped, and said so, without a provider) →
 * `security_finding` notifications for high/critical → the run is recorded as completed (or failed, with the cause).
 */
export async function guardianScanWorkflow(input: AgentRunInput): Promise<GuardianScanResult> {
  const t = { scanMs: 300_000, llmMs: 300_000, dbMs: 30_000, ...input.timeouts };
  const db = proxyActivities<Activities>({ startToCloseTimeout: t.dbMs, retry: { maximumAttempts: 10 } });
  const scanner = proxyActivities<Activities>({ startToCloseTimeout: t.scanMs, retry: { initialInterval: '5 seconds', maximumAttempts: 3 } });
  const llm = proxyActivities<Activities>({ startToCloseTimeout: t.llmMs, retry: { initialInterval: '2 seconds', maximumAttempts: 5 } });

  const progress: WorkflowProgress = { step: 'begin', state: 'running', completedSteps: [] };
  setHandler(progressQuery, () => progress);
  const enter = (step: string) => {
    progress.completedSteps.push(progress.step);
    progress.step = step;
  };

  const { workflowId } = workflowInfo();
  const begun = await db.beginAgentRun({ runId: uuid4(), workflowId, agentId: 'guardian', kind: 'guardian_scan', trigger: input.trigger, requestedBy: input.requestedBy });
  if (begun.skipped) {
    progress.state = 'completed';
    return { runId: begun.runId, status: 'skipped' };
  }
  try {
    enter('scan');
    const scan = await scanner.guardianScan(begun.runId);
    const fresh = [...scan.newIds, ...scan.reopenedIds];

    enter('triage');
    let triage: GuardianScanResult['triage'];
    try {
      triage = await llm.guardianTriage(begun.runId, fresh);
    } catch (err) {
      // Non-LLM work stands on its own: a scan without a model is still a scan.
      triage = { triaged: 0, unavailable: describeFailure(err) };
    }

    enter('notify');
    await db.guardianNotify(fresh);

    const result: GuardianScanResult = {
      runId: begun.runId,
      status: 'completed',
      commit: scan.commit,
      findings: { total: scan.total, new: scan.newIds.length, reopened: scan.reopenedIds.length, resolved: scan.resolved },
      tools: scan.tools,
      triage,
    };
    await db.finishAgentRun(begun.runId, 'completed', { findings: result.findings, triage });
    enter('done');
    progress.state = 'completed';
    return result;
  } catch (err) {
    progress.state = 'failed';
    await db.finishAgentRun(begun.runId, 'failed', {}, describeFailure(err));
    throw err;
  }
}
