import type { EntityManager } from '@mikro-orm/postgresql';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import {
  progressQuery,
  WEEKLY_REPORT_WORKFLOW,
  weeklyReportWorkflowId,
  type WeeklyReportInput,
  type WeeklyReportResult,
} from '../../src/contracts';
import { LlmBudget, LlmBudgetUsage, Notification } from '../../src/db/entities';
import { lastEndedWeekStart } from '../../src/domain/weeks';
import { testConfig } from '../helpers/config';
import { recordHistory } from '../helpers/histories';
import { useLlmTestBed } from '../helpers/llm';
import { seedExam, seedLedger, seedProposal, seedRun, type LedgerRow } from '../helpers/seed';
import { createTestWorker } from '../helpers/worker';

const WORKFLOWS = require.resolve('../../workflows');
const bed = useLlmTestBed();
const em = () => bed.orm.em.fork() as EntityManager;
// A week that straddles a month's end: its budgets are shown for both months.
const WEEK = '2025-12-29';
const FROM = new Date('2025-12-29T00:00:00Z');
const TO = new Date('2026-01-05T00:00:00Z');
const at = (iso: string) => new Date(iso);
let ledger: LedgerRow[];

/** A deterministic spread of ledger rows over the week and the days around it, every agent and both providers. */
function ledgerRows(): LedgerRow[] {
  const agents = ['imperium', 'guardian', 'sandbox', 'conquest', null] as const;
  const rows: LedgerRow[] = [];
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let i = 0; i < 60; i++) {
    const cached = i % 7 === 0;
    rows.push({
      at: new Date(FROM.getTime() - 3 * 86_400_000 + (next() % (13 * 86_400_000))),
      agentId: agents[i % agents.length] ?? null,
      provider: i % 3 === 0 ? 'anthropic' : 'openai',
      inputTokens: cached ? 0 : 100 + (next() % 5000),
      outputTokens: cached ? 0 : 10 + (next() % 900),
      costUsd: cached ? 0 : (next() % 100_000) / 1_000_000,
      outcome: cached ? 'cache_hit' : 'ok',
    });
  }
  // The window's edges: its first instant is in, the next Monday's first instant is not.
  rows.push({ at: FROM, agentId: 'guardian', provider: 'openai', inputTokens: 11, outputTokens: 1, costUsd: 0.000011 });
  rows.push({
    at: new Date(TO.getTime() - 1),
    agentId: 'conquest',
    provider: 'anthropic',
    inputTokens: 13,
    outputTokens: 3,
    costUsd: 0.000013,
  });
  rows.push({ at: TO, agentId: 'guardian', provider: 'openai', inputTokens: 99_999, outputTokens: 1, costUsd: 9.9 });
  rows.push({
    at: new Date(FROM.getTime() - 1),
    agentId: 'imperium',
    provider: 'anthropic',
    inputTokens: 88_888,
    outputTokens: 1,
    costUsd: 8.8,
  });
  return rows;
}

beforeAll(async () => {
  ledger = ledgerRows();
  await seedLedger(em(), ledger);
  const e = em();
  await e.persistAndFlush([new LlmBudget({ scope: 'agent:guardian', monthlyTokens: 100_000, monthlyUsd: null })]);
  for (const [month, used] of [
    ['2025-12', 12_345],
    ['2026-01', 2_345],
  ] as const) {
    await e.persistAndFlush(
      Object.assign(new LlmBudgetUsage({ scope: 'agent:guardian', month }), { usedTokens: used, usedUsd: 0.5 }),
    );
  }

  await seedExam(em(), {
    agentId: 'guardian',
    status: 'passed',
    completedAt: at('2025-12-30T10:00:00Z'),
    levels: [1, 2],
  });
  await seedExam(em(), {
    agentId: 'guardian',
    status: 'failed',
    completedAt: at('2025-12-31T10:00:00Z'),
    levels: [2, 2],
  });
  await seedExam(em(), {
    agentId: 'imperium',
    status: 'passed',
    completedAt: at('2026-01-02T10:00:00Z'),
    levels: [3, 3],
  });
  await seedExam(em(), {
    agentId: 'imperium',
    status: 'passed',
    completedAt: at('2026-01-04T23:00:00Z'),
    levels: [3, 4],
  });
  await seedExam(em(), { agentId: 'sandbox', status: 'error', completedAt: at('2026-01-01T10:00:00Z') });
  await seedExam(em(), {
    agentId: 'conquest',
    status: 'passed',
    completedAt: at('2025-12-28T23:00:00Z'),
    levels: [1, 2],
  });
  await seedExam(em(), { agentId: 'conquest', status: 'failed', completedAt: at('2026-01-05T00:00:00Z') });

  await seedProposal(em(), {
    agentId: 'guardian',
    status: 'applied',
    completedAt: at('2025-12-30T12:00:00Z'),
    review: { decision: 'approve', at: at('2025-12-30T11:00:00Z') },
  });
  await seedProposal(em(), {
    agentId: 'guardian',
    status: 'rejected',
    completedAt: at('2026-01-03T12:00:00Z'),
    review: { decision: 'reject', at: at('2026-01-03T12:00:00Z') },
  });
  await seedProposal(em(), { agentId: 'conquest', status: 'expired', completedAt: at('2026-01-04T12:00:00Z') });
  await seedProposal(em(), { agentId: 'sandbox', status: 'applied', completedAt: at('2026-01-06T12:00:00Z') });
  await seedProposal(em(), { agentId: 'sandbox', status: 'awaiting_review', completedAt: null });

  await seedRun(em(), {
    agentId: 'guardian',
    kind: 'guardian_scan',
    status: 'completed',
    startedAt: at('2025-12-29T01:00:00Z'),
  });
  await seedRun(em(), {
    agentId: 'guardian',
    kind: 'guardian_scan',
    status: 'completed',
    startedAt: at('2025-12-30T01:00:00Z'),
  });
  await seedRun(em(), {
    agentId: 'imperium',
    kind: 'learning_cycle',
    status: 'failed',
    startedAt: at('2026-01-01T01:00:00Z'),
  });
  await seedRun(em(), {
    agentId: 'conquest',
    kind: 'conquest_analysis',
    status: 'skipped',
    startedAt: at('2026-01-02T01:00:00Z'),
  });
  await seedRun(em(), {
    agentId: 'sandbox',
    kind: 'sandbox_experiment',
    status: 'completed',
    startedAt: at('2026-01-05T01:00:00Z'),
  });
});

/** Runs one report on a fresh worker (a worker runs once); `after` sees the result while the worker still polls. */
async function report<T = WeeklyReportResult>(
  input: Partial<WeeklyReportInput> = {},
  workflowId = weeklyReportWorkflowId(input.weekStart ?? WEEK),
  after: (result: WeeklyReportResult, client: Client) => Promise<T> = async (result) => result as T,
): Promise<T> {
  const worker = await createTestWorker(testConfig(bed.db.url, bed.fakes.env()), bed.orm, { workflowsPath: WORKFLOWS });
  try {
    const args: WeeklyReportInput[] = [{ weekStart: WEEK, trigger: 'api', timeouts: { dbMs: 10_000 }, ...input }];
    return await worker.run(async () =>
      after(
        await worker.client.workflow.execute(WEEKLY_REPORT_WORKFLOW, { args, taskQueue: worker.taskQueue, workflowId }),
        worker.client,
      ),
    );
  } finally {
    await worker.close();
  }
}

interface Sums {
  key: string | null;
  calls: string;
  cache_hits: string;
  input_tokens: string;
  output_tokens: string;
  cost_usd: string;
}

/** The ledger summed independently of the code under test. */
async function ledgerSums(column: 'agent_id' | 'provider'): Promise<Map<string | null, Sums>> {
  const rows = (await em().execute(
    `select ${column} as key, count(*)::text as calls, count(*) filter (where outcome = 'cache_hit')::text as cache_hits,
            sum(input_tokens)::text as input_tokens, sum(output_tokens)::text as output_tokens, sum(cost_usd)::text as cost_usd
       from token_usage_events where at >= '2025-12-29T00:00:00Z' and at < '2026-01-05T00:00:00Z' group by 1`,
  )) as Sums[];
  return new Map(rows.map((r) => [r.key, r]));
}

const figuresOf = (s: Sums | undefined) => ({
  calls: Number(s?.calls ?? 0),
  cacheHits: Number(s?.cache_hits ?? 0),
  inputTokens: Number(s?.input_tokens ?? 0),
  outputTokens: Number(s?.output_tokens ?? 0),
  tokens: Number(s?.input_tokens ?? 0) + Number(s?.output_tokens ?? 0),
  costUsd: Number(s?.cost_usd ?? 0),
});

describe('weeklyReportWorkflow', () => {
  let first: WeeklyReportResult;
  let progress: unknown;

  beforeAll(async () => {
    first = await report();
    progress = await report({}, `${weeklyReportWorkflowId(WEEK)}-progress`, (_result, client) =>
      client.workflow.getHandle(first.workflowId).query(progressQuery),
    );
  });

  it('sums tokens and cost per agent and per provider exactly as the ledger does, window edges included', async () => {
    const tokens = first.report?.tokens;
    const byAgent = await ledgerSums('agent_id');
    const agents = ['imperium', 'guardian', 'sandbox', 'conquest', null];
    expect(tokens?.byAgent.map((a) => ({ agentId: a.agentId, ...pickUsage(a) }))).toEqual(
      agents.map((id) => ({ agentId: id, ...figuresOf(byAgent.get(id)) })),
    );
    expect([...byAgent.values()].every((s) => Number(s.calls) > 0 && Number(s.cost_usd) > 0)).toBe(true);
    const byProvider = await ledgerSums('provider');
    expect(tokens?.byProvider.map((p) => ({ provider: p.provider, ...pickUsage(p) }))).toEqual(
      ['openai', 'anthropic'].map((p) => ({ provider: p, ...figuresOf(byProvider.get(p)) })),
    );

    // The same totals from the seeded rows themselves: [Monday 00:00, next Monday 00:00).
    const inWeek = ledger.filter((r) => r.at >= FROM && r.at < TO);
    expect(tokens?.total).toMatchObject({
      calls: inWeek.length,
      inputTokens: sum(inWeek, 'inputTokens'),
      outputTokens: sum(inWeek, 'outputTokens'),
    });
    expect(tokens?.total.costUsd).toBeCloseTo(sum(inWeek, 'costUsd'), 9);
    expect(tokens?.total.calls).toBeLessThan(ledger.length);
  });

  it('shows each monthly budget the week touches, with the month’s usage against its limit', () => {
    expect(first.report?.tokens.months).toEqual(['2025-12', '2026-01']);
    const guardian = first.report?.tokens.byAgent.find((a) => a.agentId === 'guardian');
    expect(guardian?.budgets).toEqual([
      {
        month: '2025-12',
        monthlyTokens: 100_000,
        monthlyUsd: null,
        usedTokens: 12_345,
        usedUsd: 0.5,
        usedTokensPct: 12.3,
        usedUsdPct: null,
      },
      {
        month: '2026-01',
        monthlyTokens: 100_000,
        monthlyUsd: null,
        usedTokens: 2_345,
        usedUsd: 0.5,
        usedTokensPct: 2.3,
        usedUsdPct: null,
      },
    ]);
    expect(first.report?.tokens.byAgent.find((a) => a.agentId === null)?.budgets).toEqual([]);
  });

  it('counts exams, pass rates, level-ups, proposals by outcome and runs in the week only', () => {
    const r = first.report;
    expect(r?.exams).toMatchObject({ taken: 4, passed: 3, failed: 1, errored: 1, passRate: 75 });
    expect(r?.exams.byAgent.find((a) => a.agentId === 'guardian')).toMatchObject({ taken: 2, passed: 1, passRate: 50 });
    expect(r?.exams.byAgent.find((a) => a.agentId === 'sandbox')).toMatchObject({
      taken: 0,
      errored: 1,
      passRate: null,
    });
    expect(r?.levelUps.map((l) => [l.agentId, l.levelBefore, l.levelAfter])).toEqual([
      ['guardian', 1, 2],
      ['imperium', 3, 4],
    ]);
    expect(r?.proposals.completed).toBe(3);
    expect(r?.proposals.byOutcome).toMatchObject({ applied: 1, rejected: 1, expired: 1, blocked: 0 });
    expect(r?.runs.total).toBe(4);
    expect(r?.runs.byKind).toEqual([
      { kind: 'guardian_scan', total: 2, byStatus: { completed: 2 } },
      { kind: 'sandbox_experiment', total: 0, byStatus: {} },
      { kind: 'conquest_analysis', total: 1, byStatus: { skipped: 1 } },
      { kind: 'learning_cycle', total: 1, byStatus: { failed: 1 } },
    ]);
  });

  it('stores one weekly_report notification with a readable message and the figures, and answers the progress query', async () => {
    expect(first).toMatchObject({
      status: 'completed',
      workflowId: `weekly-report-${WEEK}`,
      notificationCreated: true,
    });
    const stored = await em().find(Notification, { kind: 'weekly_report' });
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      id: first.notificationId,
      dedupeKey: `weekly_report:${WEEK}`,
      title: 'Weekly report: 2025-12-29 to 2026-01-04',
    });
    expect(stored[0]?.data).toEqual(JSON.parse(JSON.stringify(first.report)));
    expect(stored[0]?.message).toMatch(/^Week 2025-12-29 to 2026-01-04 \(UTC\)\./);
    expect(stored[0]?.message).toMatch(
      /guardian .*\[budget: 12,345 of 100,000 tokens \(12\.3 %\) in 2025-12, 2,345 of 100,000 tokens \(2\.3 %\) in 2026-01\]/,
    );
    expect(stored[0]?.message).toContain(
      'Exams: 4 taken, 3 passed (75 %) — imperium 2/2, guardian 1/2, sandbox 0/0 (+1 errored).',
    );
    expect(stored[0]?.message).toContain('Level-ups: guardian 1 → 2, imperium 3 → 4.');
    expect(stored[0]?.message).toContain('Proposals completed: 1 applied, 1 rejected, 1 expired.');

    expect(progress).toMatchObject({
      state: 'completed',
      step: 'done',
      completedSteps: ['week', 'figures', 'notify'],
      detail: { weekStart: WEEK },
    });
    await recordHistory(first.workflowId, 'weekly-report-completed');
  });

  it('does not notify twice when the week is reported again', async () => {
    const again = await report();
    expect(again).toMatchObject({
      status: 'completed',
      notificationCreated: false,
      notificationId: first.notificationId,
    });
    expect(again.report?.tokens.total).toEqual(first.report?.tokens.total);
    expect(await em().count(Notification, { kind: 'weekly_report' })).toBe(1);
  });

  it('reports the week that has just ended under that week’s own id when the schedule starts it', async () => {
    const expected = lastEndedWeekStart(new Date());
    const scheduled = await report(
      { weekStart: undefined, trigger: 'schedule' },
      'weekly-report-scheduled-2026-11-23T09:00:00Z',
    );
    expect(scheduled).toMatchObject({
      status: 'completed',
      weekStart: expected,
      workflowId: weeklyReportWorkflowId(expected),
      notificationCreated: true,
    });
    const child = await report(
      { weekStart: undefined, trigger: 'schedule' },
      'weekly-report-scheduled-describe',
      (_r, client) => client.workflow.getHandle(weeklyReportWorkflowId(expected)).describe(),
    );
    expect(child.status.name).toBe('COMPLETED');
    expect(await em().count(Notification, { dedupeKey: `weekly_report:${expected}` })).toBe(1);
  });

  it('refuses a day that is not a Monday, and a week not over yet, without retrying', async () => {
    for (const weekStart of ['2025-12-30', '2099-01-05']) {
      const err = await report({ weekStart }, `weekly-report-bad-${weekStart}`).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause?.cause;
      expect(cause).toBeInstanceOf(ApplicationFailure);
      expect(cause).toMatchObject({ type: 'InvalidReportWeek', nonRetryable: true });
    }
  });
});

function pickUsage(u: {
  calls: number;
  cacheHits: number;
  inputTokens: number;
  outputTokens: number;
  tokens: number;
  costUsd: number;
}) {
  const { calls, cacheHits, inputTokens, outputTokens, tokens, costUsd } = u;
  return { calls, cacheHits, inputTokens, outputTokens, tokens, costUsd };
}

function sum(rows: LedgerRow[], key: 'inputTokens' | 'outputTokens' | 'costUsd'): number {
  return rows.reduce((n, r) => n + (r[key] ?? 0), 0);
}
