import { setHandler, uuid4, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { progressQuery, type AgentRunInput, type WorkflowProgress } from '../src/contracts';
import { CANCELLED_REASON, describeFailure, endIfCancelled } from './failures';

type BeginInput = Parameters<Activities['beginAgentRun']>[0];

/**
 * The frame every agent workflow shares: the `progress` query, the run row begun (or skipped for a paused agent),
 * then `work`, and the run recorded as completed with the summary `work` returns — or as failed with the cause.
 * `work` gets the run id and `enter(step)` to report its steps.
 */
export async function agentRun<R>(
  db: Pick<Activities, 'beginAgentRun' | 'finishAgentRun'>,
  spec: { agentId: BeginInput['agentId']; kind: BeginInput['kind']; input: AgentRunInput },
  work: (runId: string, enter: (step: string) => void) => Promise<{ result: R; summary: Record<string, unknown> }>,
): Promise<R | { runId: string; status: 'skipped' }> {
  const progress: WorkflowProgress = { step: 'begin', state: 'running', completedSteps: [] };
  setHandler(progressQuery, () => progress);
  const enter = (step: string) => {
    progress.completedSteps.push(progress.step);
    progress.step = step;
  };

  const { input } = spec;
  const begun = await db.beginAgentRun({
    runId: uuid4(),
    workflowId: workflowInfo().workflowId,
    agentId: spec.agentId,
    kind: spec.kind,
    trigger: input.trigger,
    requestedBy: input.requestedBy,
  });
  if (begun.skipped) {
    progress.state = 'completed';
    return { runId: begun.runId, status: 'skipped' };
  }
  try {
    const { result, summary } = await work(begun.runId, enter);
    await db.finishAgentRun(begun.runId, 'completed', summary);
    enter('done');
    progress.state = 'completed';
    return result;
  } catch (err) {
    progress.state = 'failed';
    if (await endIfCancelled(err, () => db.finishAgentRun(begun.runId, 'cancelled', {}, CANCELLED_REASON))) throw err;
    await db.finishAgentRun(begun.runId, 'failed', {}, describeFailure(err));
    throw err;
  }
}
