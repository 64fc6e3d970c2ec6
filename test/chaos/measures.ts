import { WorkflowNotFoundError } from '@temporalio/client';
import { APPROVAL_XP } from '../../activities/proposals/lifecycle';
import { OPEN_PROPOSAL_STATES } from '../../src/db/entities';
import type { FakeRequest } from '../fakes/llm-servers';
import { RECONCILE_PERIOD_MS, type Stage } from './harness';
import { PROMPTS } from './llm-script';

/**
 * The four figures of one scenario run (docs/testing.md "Fault-injection suite"):
 * - finished correctly: the scenario's own success criterion held (each scenario states it);
 * - duplicate rows: rows that exist twice or were applied twice — more than one exam per workflow id or item per exam
 *   position, an agent whose XP or exam count differs from what its exams' outcomes and approved proposals applied, more than one finding per
 *   fingerprint, more than one live proposal per finding, more than one notification per dedupe key;
 * - double LLM charges, per purpose: calls the ledger completed `ok` beyond the logical calls (distinct prompts) the fake
 *   provider answered — the same call billed twice although its answer was already had — plus every request the
 *   provider received that has no ledger row (under-reported spend: the ledger writes its row before it sends, so a
 *   request in flight when a worker died must still be there, as `unknown`). A call whose answer a crash lost and that
 *   is sent again is spent twice but billed once `ok` and once `unknown`: counted as unknown-outcome spend, not here;
 * - stuck agents: exams, agent runs and open proposals still live in the database while their workflow is closed in
 *   Temporal, one reconciler period after the scenario ended.
 */
export interface RunFigures {
  correct: boolean;
  duplicateRows: number;
  doubleCharges: number;
  stuckAgents: number;
  notes: string[];
}

const OPEN_STATES_SQL = OPEN_PROPOSAL_STATES.map((s) => `'${s}'`).join(', ');

/** The agents' XP and exam counts when a stage starts: what the exams' outcomes are added to. */
export type AgentBaseline = Map<string, { xp: number; examsTaken: number }>;

export async function agentBaseline(stage: Stage): Promise<AgentBaseline> {
  const rows = await query<{ id: string; xp: number; exams_taken: number }>(
    stage,
    'select id, xp, exams_taken from agents',
  );
  return new Map(rows.map((r) => [r.id, { xp: r.xp, examsTaken: r.exams_taken }]));
}

/** Measures a finished scenario run: `correct` and `notes` are the scenario's verdict; the rest is read from the stage. */
export async function measure(
  stage: Stage,
  verdict: { correct: boolean; notes: string[] },
  baseline: AgentBaseline,
): Promise<RunFigures> {
  const notes = [...verdict.notes];
  const duplicateRows = await countDuplicates(stage, baseline, notes);
  const doubleCharges = await countDoubleCharges(stage, notes);
  const stuckAgents = await countStuck(stage, notes);
  return { correct: verdict.correct, duplicateRows, doubleCharges, stuckAgents, notes };
}

async function countDuplicates(stage: Stage, baseline: AgentBaseline, notes: string[]): Promise<number> {
  const groups: Array<[string, string]> = [
    ['exams per workflow id', 'select workflow_id from exams group by 1 having count(*) > 1'],
    ['exam items per position', 'select exam_id, position from exam_items group by 1, 2 having count(*) > 1'],
    ['findings per fingerprint', 'select repository_id, fingerprint from findings group by 1, 2 having count(*) > 1'],
    [
      'live proposals per finding',
      `select finding_id from proposals where finding_id is not null and status in (${OPEN_STATES_SQL}) group by 1 having count(*) > 1`,
    ],
    [
      'notifications per dedupe key',
      'select dedupe_key from notifications where dedupe_key is not null group by 1 having count(*) > 1',
    ],
  ];
  let count = 0;
  for (const [what, sql] of groups) {
    const rows = await query(stage, sql);
    if (rows.length > 0) notes.push(`${rows.length} duplicate ${what}`);
    count += rows.length;
  }
  // What changed an agent's XP: its exams' outcomes, and +APPROVAL_XP for each approved proposal it learned from.
  const applied = await query<{ id: string; xp: number; exams_taken: number; delta: number; outcomes: number }>(
    stage,
    `select a.id, a.xp, a.exams_taken,
            (coalesce(sum((e.outcome->>'xpAfter')::int - (e.outcome->>'xpBefore')::int), 0)
              + $1 * (select count(*) from proposals p where p.agent_id = a.id and p.learned_at is not null and p.review->>'decision' = 'approve'))::int as delta,
            count(e.outcome)::int as outcomes
       from agents a left join exams e on e.agent_id = a.id and e.outcome is not null group by a.id, a.xp, a.exams_taken`,
    [APPROVAL_XP],
  );
  for (const a of applied) {
    const before = baseline.get(a.id);
    if (before === undefined) continue;
    if (a.xp !== before.xp + a.delta || a.exams_taken !== before.examsTaken + a.outcomes) {
      notes.push(
        `${a.id}: xp ${before.xp} → ${a.xp} and ${a.exams_taken - before.examsTaken} exams counted, but its exams applied ${a.delta} XP in ${a.outcomes}`,
      );
      count += 1;
    }
  }
  return count;
}

async function countDoubleCharges(stage: Stage, notes: string[]): Promise<number> {
  const requests = [...stage.lab.fakes.openai.requests, ...stage.lab.fakes.anthropic.requests];
  const purposeOf = (r: FakeRequest) =>
    Object.values(PROMPTS).find((p) => r.prompt.includes(p.marker))?.purpose ?? 'other';
  const rows = await query<{ purpose: string; ok: number; n: number }>(
    stage,
    `select purpose, count(*) filter (where outcome = 'ok')::int as ok, count(*)::int as n from token_usage_events where outcome <> 'cache_hit' group by 1`,
  );
  const known = new Set<string>(Object.values(PROMPTS).map((p) => p.purpose));
  const ledger = (purpose: string) => {
    const mine = rows.filter((r) => (purpose === 'other' ? !known.has(r.purpose) : r.purpose === purpose));
    return { ok: sum(mine.map((r) => r.ok)), n: sum(mine.map((r) => r.n)) };
  };
  let count = 0;
  for (const purpose of new Set(requests.map(purposeOf))) {
    const mine = requests.filter((r) => purposeOf(r) === purpose);
    // Answered: the provider's answer reached a live client — a held request counts once its release answered it.
    const answered = new Set(
      mine.filter((r) => r.answeredAt !== undefined && r.abortedAt === undefined).map((r) => r.prompt),
    );
    const { ok, n } = ledger(purpose);
    // Billed twice: more calls completed `ok` than there are logical calls the provider answered.
    if (ok > answered.size) notes.push(`${purpose}: ${ok} calls billed ok for ${answered.size} logical calls`);
    // Under-reported: a request the provider received without its ledger row.
    if (mine.length > n) notes.push(`${purpose}: the provider got ${mine.length} requests, the ledger has ${n} rows`);
    count += Math.max(0, ok - answered.size) + Math.max(0, mine.length - n);
  }
  return count;
}

function sum(values: number[]): number {
  return values.reduce((s, v) => s + v, 0);
}

/** Waits one reconciler period, then counts live rows whose workflow is closed (or unknown) in Temporal. */
async function countStuck(stage: Stage, notes: string[]): Promise<number> {
  await new Promise((r) => setTimeout(r, RECONCILE_PERIOD_MS + 3000));
  const live = await query<{ kind: string; workflow_id: string }>(
    stage,
    `select 'exam' as kind, workflow_id from exams where status = 'running'
     union all select 'run', workflow_id from agent_runs where status = 'running'
     union all select 'proposal', workflow_id from proposals where status in (${OPEN_STATES_SQL})`,
  );
  let stuck = 0;
  for (const row of live) {
    const status = await stage.client.workflow
      .getHandle(row.workflow_id)
      .describe()
      .then(
        (d) => d.status.name,
        (err: unknown) => (err instanceof WorkflowNotFoundError ? 'NOT_FOUND' : 'UNREACHABLE'),
      );
    if (status !== 'RUNNING') {
      notes.push(`${row.kind} of ${row.workflow_id} is still live, its workflow ${status}`);
      stuck += 1;
    }
  }
  return stuck;
}

/** A query on the stage's database. */
export async function query<T = Record<string, unknown>>(
  stage: Stage,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const pg = await stage.pg();
  try {
    return (await pg.query(sql, params)).rows as T[];
  } finally {
    await pg.end();
  }
}
