import { proxyActivities, setHandler, uuid4, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { progressQuery, type AgentRunInput, type SandboxExperimentResult, type WorkflowProgress } from '../src/contracts';
import { describeFailure } from './failures';

/**
 * Sandbox's experiment (ARCHITECTURE §3.4): the target's tests in the sandbox, then one model-designed test run there
 * too; a passing test that adds coverage becomes an `experiment` finding. Without a provider the test run still counts
 * and the experiment is recorded as unavailable.
 */
export async function sandboxExperimentWorkflow(input: AgentRunInput): Promise<SandboxExperimentResult> {
  const t = { scanMs: 300_000, llmMs: 300_000, dbMs: 30_000, ...input.timeouts };
  const db = proxyActivities<Activities>({ startToCloseTimeout: t.dbMs, retry: { maximumAttempts: 10 } });
  const runner = proxyActivities<Activities>({ startToCloseTimeout: t.scanMs, retry: { initialInterval: '5 seconds', maximumAttempts: 3 } });
  const designer = proxyActivities<Activities>({ startToCloseTimeout: t.llmMs + t.scanMs, retry: { initialInterval: '2 seconds', maximumAttempts: 5 } });

  const progress: WorkflowProgress = { step: 'begin', state: 'running', completedSteps: [] };
  setHandler(progressQuery, () => progress);
  const enter = (step: string) => {
    progress.completedSteps.push(progress.step);
    progress.step = step;
  };

  const { workflowId } = workflowInfo();
  const begun = await db.beginAgentRun({ runId: uuid4(), workflowId, agentId: 'sandbox', kind: 'sandbox_experiment', trigger: input.trigger, requestedBy: input.requestedBy });
  if (begun.skipped) {
    progress.state = 'completed';
    return { runId: begun.runId, status: 'skipped' };
  }
  try {
    enter('tests');
    const { commit, tests } = await runner.sandboxRunTests(begun.runId);
    enter('experiment');
    let experiment: SandboxExperimentResult['experiment'];
    try {
      experiment = await designer.sandboxExperiment(begun.runId);
    } catch (err) {
      experiment = { unavailable: describeFailure(err) };
    }
    await db.finishAgentRun(begun.runId, 'completed', { experimentOutcome: experiment });
    enter('done');
    progress.state = 'completed';
    return { runId: begun.runId, status: 'completed', commit, tests, experiment };
  } catch (err) {
    progress.state = 'failed';
    await db.finishAgentRun(begun.runId, 'failed', {}, describeFailure(err));
    throw err;
  }
}
