import type { EntityManager } from '@mikro-orm/postgresql';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { ReconcileResult } from '../src/contracts';
import { finishRun } from '../src/db/agent-runs';
import { AgentRun, Exam, OPEN_PROPOSAL_STATES, Proposal } from '../src/db/entities';
import { endClosedProposal } from '../src/db/proposals';
import { endingFor, type Ending, type WorkflowStatusName } from '../src/domain/endings';
import { recordExamFailure } from './custody/finish';
import type { ActivityDeps } from './deps';

/**
 * The reconciler's one step: every running exam, open proposal and running agent run older than `graceMs` whose
 * workflow is closed in Temporal (cancelled, terminated, timed out, failed — when no workflow code could end the row)
 * is ended with Temporal's reason, applying nothing and freeing its agent. Keyed on each row's state: a row ended
 * meanwhile (by its workflow or a retry of this activity) is left as it is. Temporal unreachable: a plain error, retried.
 */
export function createReconcileActivities({ orm, temporal }: Pick<ActivityDeps, 'orm' | 'temporal'>) {
  return {
    async reconcileEndings(graceMs: number): Promise<ReconcileResult> {
      const em = orm.em.fork() as EntityManager;
      const before = new Date(Date.now() - graceMs);
      const [exams, proposals, runs] = await Promise.all([
        em.find(Exam, { status: 'running', startedAt: { $lt: before } }, { fields: ['id', 'workflowId'] }),
        em
          .fork()
          .find(
            Proposal,
            { status: { $in: [...OPEN_PROPOSAL_STATES] }, createdAt: { $lt: before } },
            { fields: ['id', 'workflowId'] },
          ),
        em.fork().find(AgentRun, { status: 'running', startedAt: { $lt: before } }, { fields: ['id', 'workflowId'] }),
      ]);
      const result: ReconcileResult = { checked: exams.length + proposals.length + runs.length, ended: [] };
      const settle = async (
        kind: ReconcileResult['ended'][number]['kind'],
        row: { id: string; workflowId: string },
        end: (e: Ending) => Promise<{ ended: boolean; status: string }>,
      ) => {
        const ending = endingFor(await workflowStatus(temporal, row.workflowId));
        if (ending === null) return;
        const { ended, status } = await end(ending);
        if (ended) result.ended.push({ kind, id: row.id, workflowId: row.workflowId, status, reason: ending.reason });
      };
      for (const exam of exams) {
        await settle('exam', exam, async (e) => {
          const status = e.kind === 'cancelled' ? 'cancelled' : 'error';
          return { ended: await recordExamFailure(orm, exam.id, e.reason, status), status };
        });
      }
      for (const proposal of proposals) {
        await settle('proposal', proposal, async (e) => ({
          ended: await endClosedProposal(orm, proposal.id, e.kind, e.reason),
          status: e.kind,
        }));
      }
      for (const run of runs) {
        await settle('run', run, async (e) => ({
          ended: await finishRun(orm, run.id, e.kind, {}, e.reason),
          status: e.kind,
        }));
      }
      return result;
    },
  };
}

/** Temporal's status of the workflow's latest run, `NOT_FOUND` when Temporal does not know it. */
async function workflowStatus(temporal: Client, workflowId: string): Promise<WorkflowStatusName> {
  try {
    return (await temporal.workflow.getHandle(workflowId).describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'NOT_FOUND';
    throw err;
  }
}
