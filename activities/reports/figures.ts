import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../../src/config';
import type { ReportBudget, ReportExams, ReportUsage, WeeklyReport } from '../../src/contracts';
import { AGENT_RUN_KINDS, TERMINAL_PROPOSAL_STATES } from '../../src/db/entities';
import { AGENT_IDS } from '../../src/domain/agents';
import { percentOf } from '../../src/domain/kpis';
import { LLM_PROVIDERS, type BudgetScope } from '../../src/domain/llm';
import { budgetMonthsOfWeek, isoDate, weekBounds } from '../../src/domain/weeks';
import { budgetStates, usageTotals, type UsageTotals } from '../../src/llm/reports';

type Window = { from: Date; to: Date };
type Keyed = UsageTotals & { key: string | null };

const NONE: UsageTotals = {
  calls: 0,
  cacheHits: 0,
  inputTokens: 0,
  outputTokens: 0,
  costUsd: 0,
  unknownCostCalls: 0,
  estimatedUsageCalls: 0,
};

/**
 * Every figure of the week [weekStart, weekStart + 7 d) UTC, read from the database: the ledger per agent, provider
 * and model against the monthly budgets, exams, level-ups, proposals by outcome and agent runs. Read-only, so a retry
 * simply reads again.
 */
export async function computeWeeklyReport(
  { orm, config }: { orm: MikroORM; config: Config },
  weekStart: string,
): Promise<WeeklyReport> {
  const em = orm.em.fork() as EntityManager;
  const window = weekBounds(weekStart);
  return {
    weekStart,
    weekEnd: isoDate(window.to),
    generatedAt: new Date().toISOString(),
    tokens: await tokenFigures(em, config, weekStart, window),
    exams: await examFigures(em, window),
    levelUps: await levelUps(em, window),
    proposals: await proposalFigures(em, window),
    runs: await runFigures(em, window),
  };
}

async function tokenFigures(
  em: EntityManager,
  config: Config,
  weekStart: string,
  window: Window,
): Promise<WeeklyReport['tokens']> {
  const months = budgetMonthsOfWeek(weekStart);
  const budgets = new Map<string, ReportBudget[]>();
  for (const month of months) {
    for (const b of await budgetStates(em, month, config.llm.defaultBudget)) {
      const pct = (used: number, limit: number | null) => (limit === null ? null : round(percentOf(used, limit), 1));
      const figure = {
        month,
        monthlyTokens: b.monthlyTokens,
        monthlyUsd: b.monthlyUsd,
        usedTokens: b.usedTokens,
        usedUsd: round6(b.usedUsd),
        usedTokensPct: pct(b.usedTokens, b.monthlyTokens),
        usedUsdPct: pct(b.usedUsd, b.monthlyUsd),
      };
      budgets.set(b.scope, [...(budgets.get(b.scope) ?? []), figure]);
    }
  }
  const budgetOf = (scope: BudgetScope) => budgets.get(scope) ?? [];
  const [all, byAgent, byProvider, byModel] = [
    await usageTotals(em, window, 'all'),
    await usageTotals(em, window, 'agent'),
    await usageTotals(em, window, 'provider'),
    await usageTotals(em, window, 'model'),
  ];
  const of = (rows: Keyed[], key: string | null) => usage(rows.find((r) => r.key === key) ?? NONE);
  const knownProviders: readonly string[] = LLM_PROVIDERS;
  return {
    months,
    total: { ...usage(all[0] ?? NONE), budgets: budgetOf('global') },
    byAgent: [
      ...AGENT_IDS.map((agentId) => ({ agentId, ...of(byAgent, agentId), budgets: budgetOf(`agent:${agentId}`) })),
      { agentId: null, ...of(byAgent, null), budgets: [] },
    ],
    byProvider: [
      ...LLM_PROVIDERS.map((provider) => ({
        provider,
        ...of(byProvider, provider),
        budgets: budgetOf(`provider:${provider}`),
      })),
      // A provider the ledger knows but the code no longer does (renamed, removed) still counts.
      ...byProvider
        .filter((r) => r.key !== null && !knownProviders.includes(r.key))
        .map((r) => ({ provider: String(r.key), ...usage(r), budgets: [] })),
    ],
    byModel: byModel.map((r) => ({ model: String(r.key), ...usage(r) })),
  };
}

function usage(t: UsageTotals): ReportUsage {
  return {
    calls: t.calls,
    cacheHits: t.cacheHits,
    inputTokens: t.inputTokens,
    outputTokens: t.outputTokens,
    tokens: t.inputTokens + t.outputTokens,
    costUsd: round6(t.costUsd),
    unknownCostCalls: t.unknownCostCalls,
  };
}

async function examFigures(em: EntityManager, { from, to }: Window): Promise<WeeklyReport['exams']> {
  const rows = (await em.execute(
    `select agent_id, count(*) filter (where status = 'passed') as passed, count(*) filter (where status = 'failed') as failed,
            count(*) filter (where status = 'error') as errored
       from exams where completed_at >= ? and completed_at < ? group by agent_id`,
    [from, to],
  )) as Array<{ agent_id: string; passed: string; failed: string; errored: string }>;
  const figures = (passed: number, failed: number, errored: number): ReportExams => ({
    taken: passed + failed,
    passed,
    failed,
    errored,
    passRate: round(percentOf(passed, passed + failed), 1),
  });
  const byAgent = AGENT_IDS.map((agentId) => {
    const r = rows.find((row) => row.agent_id === agentId);
    return { agentId, ...figures(Number(r?.passed ?? 0), Number(r?.failed ?? 0), Number(r?.errored ?? 0)) };
  });
  const sum = (k: 'passed' | 'failed' | 'errored') => rows.reduce((n, r) => n + Number(r[k]), 0);
  return { ...figures(sum('passed'), sum('failed'), sum('errored')), byAgent };
}

async function levelUps(em: EntityManager, { from, to }: Window): Promise<WeeklyReport['levelUps']> {
  const rows = (await em.execute(
    `select id, agent_id, category, (outcome->>'levelBefore')::int as level_before, (outcome->>'levelAfter')::int as level_after, completed_at
       from exams
      where completed_at >= ? and completed_at < ? and outcome is not null
        and (outcome->>'levelAfter')::int > (outcome->>'levelBefore')::int
      order by completed_at, id`,
    [from, to],
  )) as Array<{
    id: string;
    agent_id: string;
    category: string;
    level_before: number;
    level_after: number;
    completed_at: string | Date;
  }>;
  return rows.map((r) => ({
    agentId: r.agent_id,
    examId: r.id,
    category: r.category,
    levelBefore: r.level_before,
    levelAfter: r.level_after,
    at: new Date(r.completed_at).toISOString(),
  }));
}

async function proposalFigures(em: EntityManager, { from, to }: Window): Promise<WeeklyReport['proposals']> {
  const rows = (await em.execute(
    `select status, count(*) as n from proposals where completed_at >= ? and completed_at < ? group by status`,
    [from, to],
  )) as Array<{ status: string; n: string }>;
  const byOutcome: Record<string, number> = Object.fromEntries(TERMINAL_PROPOSAL_STATES.map((s) => [s, 0]));
  for (const r of rows) byOutcome[r.status] = Number(r.n);
  return { completed: rows.reduce((n, r) => n + Number(r.n), 0), byOutcome };
}

async function runFigures(em: EntityManager, { from, to }: Window): Promise<WeeklyReport['runs']> {
  const rows = (await em.execute(
    `select kind, status, count(*) as n from agent_runs where started_at >= ? and started_at < ? group by kind, status order by kind, status`,
    [from, to],
  )) as Array<{ kind: string; status: string; n: string }>;
  const byKind = new Map<string, { kind: string; total: number; byStatus: Record<string, number> }>(
    AGENT_RUN_KINDS.map((kind) => [kind, { kind, total: 0, byStatus: {} }]),
  );
  for (const r of rows) {
    const entry = byKind.get(r.kind) ?? { kind: r.kind, total: 0, byStatus: {} };
    entry.total += Number(r.n);
    entry.byStatus[r.status] = Number(r.n);
    byKind.set(r.kind, entry);
  }
  return { total: rows.reduce((n, r) => n + Number(r.n), 0), byKind: [...byKind.values()] };
}

function round(value: number | null, digits: number): number | null {
  if (value === null) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function round6(n: number): number {
  return Math.round(n * 1_000_000) / 1_000_000;
}
