import type { AgentRunInput, SandboxExperimentResult } from '../src/contracts';
import { agentRun } from './agent-run';
import { describeFailure } from './failures';
import { proxyByKind } from './queues';

/**
 * Sandbox's experiment (ARCHITECTURE §3.4): the target's tests in the sandbox, then one model-designed test run there
 * too; a passing test that adds coverage becomes an `experiment` finding. Without a provider the test run still counts
 * and the experiment is recorded as unavailable.
 */
export async function sandboxExperimentWorkflow(input: AgentRunInput): Promise<SandboxExperimentResult> {
  const t = { scanMs: 300_000, llmMs: 300_000, dbMs: 30_000, ...input.timeouts };
  const db = proxyByKind({ startToCloseTimeout: t.dbMs, retry: { maximumAttempts: 10 } });
  const hb = t.heartbeatMs === undefined ? {} : { heartbeatTimeout: t.heartbeatMs };
  const runner = proxyByKind({
    startToCloseTimeout: t.scanMs,
    ...hb,
    retry: { initialInterval: '5 seconds', maximumAttempts: 3 },
  });
  const designer = proxyByKind({
    startToCloseTimeout: t.llmMs + t.scanMs,
    ...hb,
    retry: { initialInterval: '2 seconds', maximumAttempts: 5 },
  });

  return agentRun(db, { agentId: 'sandbox', kind: 'sandbox_experiment', input }, async (runId, enter) => {
    enter('tests');
    const { commit, tests } = await runner.sandboxRunTests(runId);
    enter('experiment');
    let experiment: SandboxExperimentResult['experiment'];
    try {
      experiment = await designer.sandboxExperiment(runId);
    } catch (err) {
      experiment = { unavailable: describeFailure(err) };
    }
    return {
      result: { runId, status: 'completed', commit, tests, experiment },
      summary: { experimentOutcome: experiment },
    };
  });
}
