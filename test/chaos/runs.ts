import { OPEN_PROPOSAL_STATES } from '../../src/db/entities';
import type { AgentId } from '../../src/domain/agents';
import { holdLock, workflowEnding, type HeldLock } from './exams';
import { RECONCILE_PERIOD_MS, waitFor, type Stage } from './harness';
import { query } from './measures';

/** A workflow kind other than the exam, as the API starts it, and the row that tracks it (if it has one). */
export interface WorkKind {
  name: string;
  path: string;
  body?: Record<string, unknown>;
  /** the table whose row (keyed on the workflow id) must end `cancelled`; undefined: the workflow stores nothing while it runs */
  table?: 'agent_runs' | 'proposals';
  /** makes the agent able to start this work (a proposal needs an eligible agent) */
  prepare?: (stage: Stage) => Promise<void>;
  /** for work too quick to catch under way otherwise: a lock its last step waits on while it is ended */
  hold?: (stage: Stage) => Promise<HeldLock>;
}

/** Makes the agent eligible to propose (active, passed recently, no failure streak). */
export const eligible = (agentId: AgentId) => async (stage: Stage) => {
  await query(
    stage,
    `update agents set status = 'active', consecutive_failures = 0, last_passed_at = now() where id = $1`,
    [agentId],
  );
};

export const WORK_KINDS: WorkKind[] = [
  { name: 'guardian scan', path: '/api/guardian/scans', table: 'agent_runs' },
  { name: 'sandbox experiment', path: '/api/sandbox/experiments', table: 'agent_runs' },
  { name: 'conquest analysis', path: '/api/conquest/analyses', table: 'agent_runs' },
  { name: 'learning cycle', path: '/api/imperium/cycles', table: 'agent_runs' },
  {
    name: 'proposal',
    path: '/api/proposals',
    body: { agentId: 'guardian', goal: 'Check the names in findUserQuery (chaos suite).' },
    table: 'proposals',
    prepare: eligible('guardian'),
  },
  // Its figures take a moment; its notification insert waits while the suite holds the notifications table.
  {
    name: 'weekly report',
    path: '/api/reports/weekly',
    body: {},
    hold: (stage) => holdLock(stage, 'lock table notifications in share mode', []),
  },
];

/** Starts the work over the API; answers the HTTP status and the workflow id. */
export async function startWork(stage: Stage, kind: WorkKind): Promise<{ status: number; workflowId?: string }> {
  const res = await stage.api.request('POST', kind.path, { key: stage.operatorKey, body: kind.body ?? {} });
  return { status: res.status, workflowId: (res.body as { workflowId?: string }).workflowId };
}

async function rowStatus(stage: Stage, kind: WorkKind, workflowId: string): Promise<string | undefined> {
  if (kind.table === undefined) return undefined;
  const [row] = await query<{ status: string }>(stage, `select status from ${kind.table} where workflow_id = $1`, [
    workflowId,
  ]);
  return row?.status;
}

/** A run row while its workflow runs, or a proposal still open. */
const LIVE = new Set<string>(['running', ...OPEN_PROPOSAL_STATES]);

/**
 * Cancels or terminates a running workflow of `kind` from Temporal once it is under way, then checks what an operator
 * expects: its row ends `cancelled` (at once for a cancel, within one reconciler period for a terminate) and the same
 * work can be started again (202).
 */
export async function endWorkFromTemporal(
  stage: Stage,
  kind: WorkKind,
  how: 'cancel' | 'terminate',
): Promise<{ correct: boolean; notes: string[] }> {
  await kind.prepare?.(stage);
  const held = await kind.hold?.(stage);
  const first = await startWork(stage, kind);
  if (first.workflowId === undefined)
    return { correct: false, notes: [`the ${kind.name} was answered ${first.status}`] };
  const handle = stage.client.workflow.getHandle(first.workflowId);
  // Under way: its row stored (when it has one) and its first activity running for a moment.
  await waitFor(
    `the ${kind.name} to be under way`,
    60_000,
    async () => kind.table === undefined || LIVE.has((await rowStatus(stage, kind, handle.workflowId)) ?? ''),
  );
  await (held === undefined ? new Promise((r) => setTimeout(r, 1500)) : held.blocking());
  const notes: string[] = [];
  const before = (await handle.describe()).status.name;
  if (before !== 'RUNNING') notes.push(`the ${kind.name} had already ended (${before}) before the ${how}`);
  await (how === 'cancel' ? handle.cancel() : handle.terminate('chaos: terminated by the operator'));
  await held?.release();
  const ending = await workflowEnding(stage, handle.workflowId, 60_000);
  if (ending.error?.startsWith('not closed')) notes.push(`the ${kind.name}'s workflow did not close after the ${how}`);
  let ended = true;
  if (kind.table !== undefined) {
    // A cancelled workflow ends its row before it closes; a terminated one is left to the reconciler.
    const deadline = how === 'cancel' ? 0 : RECONCILE_PERIOD_MS + 5000;
    const status = await waitFor(`the ${kind.name}'s row to end`, deadline, async () => {
      const s = await rowStatus(stage, kind, handle.workflowId);
      return s !== undefined && !LIVE.has(s) && s;
    }).catch(() => rowStatus(stage, kind, handle.workflowId));
    ended = status === 'cancelled';
    if (!ended) notes.push(`${kind.name} row ${status ?? 'missing'} after the ${how}`);
  }
  const again = await startWork(stage, kind);
  if (again.status !== 202) notes.push(`a new ${kind.name} was answered ${again.status}`);
  if (again.workflowId !== undefined) {
    await stage.client.workflow
      .getHandle(again.workflowId)
      .cancel()
      .catch(() => undefined);
    await workflowEnding(stage, again.workflowId, 60_000);
  }
  return { correct: before === 'RUNNING' && ended && again.status === 202 && notes.length === 0, notes };
}
