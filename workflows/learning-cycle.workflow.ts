import { executeChild, ParentClosePolicy, startChild, uuid4, workflowInfo } from '@temporalio/workflow';
import {
  CONQUEST_ANALYSIS_WORKFLOW,
  CYCLE_CHILDREN,
  GUARDIAN_SCAN_WORKFLOW,
  PROPOSAL_WORKFLOW,
  proposalWorkflowId,
  SANDBOX_EXPERIMENT_WORKFLOW,
  type AgentRunInput,
  type CycleChildAgent,
  type CycleChildOutcome,
  type CyclePlan,
  type CycleStudyOutcome,
  type LearningCycleInput,
  type LearningCycleResult,
  type ProposalInput,
} from '../src/contracts';
import type { CycleStep } from '../activities/learning/cycle';
import { agentRun } from './agent-run';
import { describeFailure } from './failures';
import { proxyByKind } from './queues';

const CHILD_WORKFLOWS: Record<CycleChildAgent, { type: string; suffix: string }> = {
  guardian: { type: GUARDIAN_SCAN_WORKFLOW, suffix: 'guardian-scan' },
  sandbox: { type: SANDBOX_EXPERIMENT_WORKFLOW, suffix: 'sandbox-experiment' },
  conquest: { type: CONQUEST_ANALYSIS_WORKFLOW, suffix: 'conquest-analysis' },
};

/**
 * Imperium's learning cycle (ARCHITECTURE §3.2): plan study topics (the model, else each agent's weakest categories)
 * → Guardian's scan, Sandbox's experiment and Conquest's analysis as parallel children (a failing child is recorded,
 * not fatal) → each agent's model writes knowledge notes from its topics and findings → analytics → proposal
 * candidates → a summary notification. Every step lands on the cycle's run row with its timing, tokens and cost; a
 * cycle that fails notifies `cycle_failed`.
 */
export async function learningCycleWorkflow(input: LearningCycleInput): Promise<LearningCycleResult> {
  const t = { llmMs: 300_000, dbMs: 30_000, scanMs: 300_000, childMs: 3_600_000, ...input.timeouts };
  const db = proxyByKind({ startToCloseTimeout: t.dbMs, retry: { maximumAttempts: 10 } });
  const hb = t.heartbeatMs === undefined ? {} : { heartbeatTimeout: t.heartbeatMs };
  const llm = proxyByKind({
    startToCloseTimeout: t.llmMs,
    ...hb,
    retry: { initialInterval: '2 seconds', maximumAttempts: 5 },
  });
  const { workflowId } = workflowInfo();

  try {
    return await agentRun(db, { agentId: 'imperium', kind: 'learning_cycle', input }, async (runId, enter) => {
      /** Runs one step and records it on the cycle's run (outcome, timing, and usage from the ledger). */
      const step = async <T>(
        name: string,
        usage: Pick<CycleStep, 'purposes' | 'childWorkflowIds'>,
        body: () => Promise<{ value: T; outcome?: CycleStep['outcome']; detail?: string }>,
      ) => {
        enter(name);
        const { value, outcome = 'ok', detail } = await body();
        await db.recordCycleStep(runId, workflowId, { step: name, outcome, detail, ...usage });
        return value;
      };

      const plan = await step<CyclePlan>('plan', { purposes: ['cycle.plan'] }, async () => {
        try {
          const value = await llm.cyclePlan(runId);
          return { value, detail: 'topics chosen by the model' };
        } catch (err) {
          const reason = describeFailure(err);
          return {
            value: await db.cyclePlanWithoutModel(runId, reason),
            outcome: 'partial',
            detail: `weakest categories (no model: ${reason})`,
          };
        }
      });

      const childIds = CYCLE_CHILDREN.map((agentId) => `${workflowId}-${CHILD_WORKFLOWS[agentId].suffix}`);
      const children = await step<CycleChildOutcome[]>('children', { childWorkflowIds: childIds }, async () => {
        const settled = await Promise.allSettled(
          CYCLE_CHILDREN.map((agentId, i) => {
            const childInput: AgentRunInput = {
              trigger: 'cycle',
              requestedBy: input.requestedBy,
              timeouts: {
                scanMs: t.scanMs,
                llmMs: t.llmMs,
                dbMs: t.dbMs,
                heartbeatMs: t.heartbeatMs,
                ...input.childTimeouts?.[agentId],
              },
            };
            return executeChild<(i: AgentRunInput) => Promise<{ runId: string; status: 'completed' | 'skipped' }>>(
              CHILD_WORKFLOWS[agentId].type,
              {
                workflowId: childIds[i],
                args: [childInput],
                workflowExecutionTimeout: t.childMs,
              },
            );
          }),
        );
        const value: CycleChildOutcome[] = [];
        for (const [i, agentId] of CYCLE_CHILDREN.entries()) {
          const outcome = settled[i];
          const childWorkflowId = childIds[i] ?? '';
          if (outcome?.status === 'fulfilled')
            value.push({
              agentId,
              workflowId: childWorkflowId,
              status: outcome.value.status,
              runId: outcome.value.runId,
            });
          else
            value.push({
              agentId,
              workflowId: childWorkflowId,
              status: 'failed',
              runId: (await db.runIdOf(childWorkflowId)) ?? undefined,
              error: describeFailure(outcome?.reason),
            });
        }
        const failed = value.filter((c) => c.status === 'failed');
        return {
          value,
          outcome: failed.length === 0 ? 'ok' : failed.length === value.length ? 'failed' : 'partial',
          detail: value.map((c) => `${c.agentId} ${c.status}`).join(', '),
        };
      });

      const study = await step<CycleStudyOutcome[]>('study', { purposes: ['cycle.study'] }, async () => {
        const students = plan.agents.filter(
          (a) =>
            a.status === 'active' &&
            a.topics.length + (children.find((c) => c.agentId === a.agentId)?.runId ? 1 : 0) > 0,
        );
        const value = await Promise.all(
          students.map(async (a): Promise<CycleStudyOutcome> => {
            const childRunId = children.find((c) => c.agentId === a.agentId)?.runId ?? null;
            try {
              return await llm.cycleStudy({ runId, workflowId, agentId: a.agentId, childRunId });
            } catch (err) {
              return { agentId: a.agentId, notes: 0, unavailable: describeFailure(err) };
            }
          }),
        );
        const unavailable = value.filter((s) => s.unavailable !== undefined).length;
        const notes = value.reduce((n, s) => n + s.notes, 0);
        return {
          value,
          outcome: unavailable === 0 ? 'ok' : unavailable === value.length ? 'failed' : 'partial',
          detail: `${notes} notes by ${value.length - unavailable} of ${value.length} agents`,
        };
      });

      const { usage } = await step('analytics', {}, async () => ({
        value: await db.cycleAnalytics(runId, workflowId),
      }));

      const proposals = await step('propose', {}, async () => {
        const candidates = await db.cycleProposalCandidates();
        // One proposal per eligible agent with an actionable finding, as a child that outlives the cycle.
        const started: string[] = [];
        for (const c of candidates) {
          if (!c.eligible || c.findingId === null) continue;
          const proposalId = uuid4();
          const proposal: ProposalInput = {
            proposalId,
            agentId: c.agentId,
            findingId: c.findingId,
            trigger: 'cycle',
            requestedBy: input.requestedBy,
            timeouts: { llmMs: t.llmMs, scanMs: t.scanMs, dbMs: t.dbMs, heartbeatMs: t.heartbeatMs },
          };
          await startChild(PROPOSAL_WORKFLOW, {
            workflowId: proposalWorkflowId(proposalId),
            args: [proposal],
            parentClosePolicy: ParentClosePolicy.ABANDON,
          });
          started.push(proposalId);
        }
        const waiting = candidates.filter((c) => !c.eligible).length;
        return {
          value: { candidates, started },
          outcome: started.length > 0 ? ('ok' as const) : ('skipped' as const),
          detail: `${started.length} proposal(s) started; ${waiting} agent(s) not eligible; ${candidates.filter((c) => c.eligible && c.findingId === null).length} eligible without an actionable finding`,
        };
      });

      await step('notify', {}, async () => ({
        value: await db.notifyCycle(runId, workflowId, { status: 'completed', children, study, usage }),
      }));

      const result: LearningCycleResult = { runId, status: 'completed', plan, children, study, proposals, usage };
      return { result, summary: { children, study, proposals, usage } };
    });
  } catch (err) {
    const run = await db.runIdOf(workflowId);
    if (run !== null) await db.notifyCycle(run, workflowId, { status: 'failed', error: describeFailure(err) });
    throw err;
  }
}
