import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { weeklyReportDedupeKey, type ReportBudget, type ReportUsage, type WeeklyReport } from '../../src/contracts';
import { Notification } from '../../src/db/entities';
import { createNotification } from '../../src/notifications/create';

/**
 * Stores the week's one `weekly_report` notification (dedupe key `weekly_report:<weekStart>`): a readable message,
 * the figures in `data`. A re-run of the week finds the first one and leaves it as it was.
 */
export async function notifyWeeklyReport(
  orm: MikroORM,
  report: WeeklyReport,
): Promise<{ notificationId: string; created: boolean }> {
  const em = orm.em.fork() as EntityManager;
  const dedupeKey = weeklyReportDedupeKey(report.weekStart);
  const created = await createNotification(em, {
    kind: 'weekly_report',
    title: `Weekly report: ${report.weekStart} to ${lastDay(report)}`,
    message: weeklyReportMessage(report),
    priority: 'normal',
    data: { ...report },
    dedupeKey,
  });
  const stored = await em.findOneOrFail(Notification, { dedupeKey });
  return { notificationId: stored.id, created };
}

/** The report in a few lines a person reads at a glance; every figure is also in the notification's data. */
export function weeklyReportMessage(r: WeeklyReport): string {
  const { tokens, exams } = r;
  const agents = tokens.byAgent
    .filter((a) => a.calls > 0)
    .map((a) => `${a.agentId ?? 'system'} ${usageText(a)}${budgetText(a.budgets)}`);
  const providers = tokens.byProvider
    .filter((p) => p.calls > 0)
    .map((p) => `${p.provider} ${usageText(p)}${budgetText(p.budgets)}`);
  const examAgents = exams.byAgent
    .filter((a) => a.taken + a.errored > 0)
    .map((a) => `${a.agentId} ${a.passed}/${a.taken}${a.errored > 0 ? ` (+${a.errored} errored)` : ''}`);
  const outcomes = Object.entries(r.proposals.byOutcome)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`);
  const runs = r.runs.byKind
    .filter((k) => k.total > 0)
    .map(
      (k) =>
        `${k.kind} ${k.total} (${Object.entries(k.byStatus)
          .map(([s, n]) => `${n} ${s}`)
          .join(', ')})`,
    );
  return [
    `Week ${r.weekStart} to ${lastDay(r)} (UTC).`,
    `LLM: ${usageText(tokens.total)}${budgetText(tokens.total.budgets)}.`,
    ...(agents.length > 0 ? [`Per agent: ${agents.join('; ')}.`] : []),
    ...(providers.length > 0 ? [`Per provider: ${providers.join('; ')}.`] : []),
    `Exams: ${exams.taken} taken, ${exams.passed} passed${exams.passRate === null ? '' : ` (${exams.passRate} %)`}${examAgents.length > 0 ? ` — ${examAgents.join(', ')}` : ''}.`,
    `Level-ups: ${r.levelUps.length === 0 ? 'none' : r.levelUps.map((l) => `${l.agentId} ${l.levelBefore} → ${l.levelAfter}`).join(', ')}.`,
    `Proposals completed: ${r.proposals.completed === 0 ? 'none' : outcomes.join(', ')}.`,
    `Runs: ${r.runs.total === 0 ? 'none' : runs.join('; ')}.`,
  ].join('\n');
}

function usageText(u: ReportUsage): string {
  const unknown = u.unknownCostCalls ? ` (at least: ${u.unknownCostCalls} calls of unpriced models)` : '';
  return `${u.tokens.toLocaleString('en-US')} tokens, $${u.costUsd.toFixed(4)}${unknown} over ${u.calls} calls (${u.cacheHits} cached)`;
}

/** The month's use of a limited budget, for context (the limit is monthly, the figures weekly). */
function budgetText(budgets: ReportBudget[]): string {
  const parts = budgets.flatMap((b) => [
    ...(b.monthlyTokens === null
      ? []
      : [
          `${b.usedTokens.toLocaleString('en-US')} of ${b.monthlyTokens.toLocaleString('en-US')} tokens${b.usedTokensPct === null ? '' : ` (${b.usedTokensPct} %)`} in ${b.month}`,
        ]),
    ...(b.monthlyUsd === null ? [] : [`$${b.usedUsd.toFixed(2)} of $${b.monthlyUsd.toFixed(2)} in ${b.month}`]),
  ]);
  return parts.length === 0 ? '' : ` [budget: ${parts.join(', ')}]`;
}

function lastDay(r: WeeklyReport): string {
  return new Date(Date.parse(r.weekEnd) - 86_400_000).toISOString().slice(0, 10);
}
