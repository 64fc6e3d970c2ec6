import { api, type Page } from '../api';
import type { PageContext } from '../context';
import { fmtDate, fmtNum, h, table, type Child } from '../dom';
import type {
  ReportBudget,
  ReportUsage as Usage,
  WeeklyReport as ContractReport,
} from '../../../src/contracts/reports';
import { pager } from './pager';

/** The stored report as the report workflow wrote it (src/contracts/reports.ts); older reports may lack sections. */
type WeeklyReport = Pick<ContractReport, 'weekStart' | 'weekEnd' | 'generatedAt'> &
  Partial<Omit<ContractReport, 'weekStart' | 'weekEnd' | 'generatedAt'>>;
interface StoredReport {
  notificationId: string;
  weekStart: string | null;
  createdAt: string;
  message: string;
  report: WeeklyReport;
}

/** The weekly reports, newest week first, each linked to its page. */
export async function reportsPage(ctx: PageContext): Promise<HTMLElement> {
  const data = await api<Page<StoredReport>>(`/reports/weekly?limit=25&offset=${Number(ctx.query.get('offset') ?? 0)}`);
  const empty = h(
    'div',
    { class: 'empty' },
    h('p', {}, 'No weekly report yet.'),
    h(
      'p',
      { class: 'muted' },
      'The weekly-report schedule writes one every Monday at 09:00 UTC for the week just ended. To have one now, an operator triggers the “weekly-report” schedule on the ',
      h('a', { href: '#/schedules' }, 'Schedules'),
      ' page.',
    ),
  );
  return h(
    'section',
    {},
    h('h1', {}, 'Weekly reports'),
    data.page.total === 0
      ? empty
      : table(
          ['week', 'summary', 'written'],
          data.items.map((r) => [
            h('a', { href: `#/reports/${r.notificationId}`, class: 'report-link' }, weekTitle(r)),
            firstLines(r),
            fmtDate(r.createdAt),
          ]),
        ),
    data.page.total > 0 ? pager('#/reports', data.page) : null,
  );
}

/** One report laid out: LLM usage against budgets, exams, level-ups, proposals and runs of the week. */
export async function reportPage(ctx: PageContext): Promise<HTMLElement> {
  const id = ctx.params[0] ?? '';
  const stored = await findReport(id);
  if (stored === null)
    return h(
      'section',
      {},
      h('p', {}, h('a', { href: '#/reports' }, '← Weekly reports')),
      h('h1', {}, 'Weekly report'),
      h('p', { class: 'error', role: 'alert' }, 'No such report: it may have been deleted with its notification.'),
    );
  const r = stored.report;
  return h(
    'section',
    { class: 'report' },
    h('p', {}, h('a', { href: '#/reports' }, '← Weekly reports')),
    h('h1', {}, `Weekly report: ${weekTitle(stored)}`),
    h(
      'p',
      { class: 'muted' },
      `Generated ${fmtDate(r.generatedAt)}; the week runs from Monday 00:00 UTC to the next Monday.`,
    ),
    usageSection(r),
    examsSection(r),
    h('h2', {}, 'Level-ups'),
    r.levelUps === undefined || r.levelUps.length === 0
      ? h('p', { class: 'muted' }, 'No agent levelled up this week.')
      : h(
          'ul',
          {},
          r.levelUps.map((l) =>
            h(
              'li',
              {},
              `${l.agentId}: level ${l.levelBefore} → ${l.levelAfter} (${l.category} exam, ${fmtDate(l.at)}) `,
              h('a', { href: `#/exams/${l.examId}` }, 'exam'),
            ),
          ),
        ),
    h('h2', {}, 'Proposals completed'),
    r.proposals === undefined || r.proposals.completed === 0
      ? h('p', { class: 'muted' }, 'No proposal reached an end this week.')
      : table(
          ['outcome', 'proposals'],
          Object.entries(r.proposals.byOutcome)
            .filter(([, n]) => n > 0)
            .map(([s, n]) => [s, fmtNum(n)]),
        ),
    h('h2', {}, 'Agent runs started'),
    r.runs === undefined || r.runs.total === 0
      ? h('p', { class: 'muted' }, 'No agent run started this week.')
      : table(
          ['kind', 'runs', 'by status'],
          r.runs.byKind
            .filter((k) => k.total > 0)
            .map((k) => [
              k.kind,
              fmtNum(k.total),
              Object.entries(k.byStatus)
                .map(([s, n]) => `${n} ${s}`)
                .join(', '),
            ]),
        ),
    h('details', {}, h('summary', {}, 'The report as text'), h('pre', { class: 'text', tabindex: 0 }, stored.message)),
  );
}

function usageSection(r: WeeklyReport): Child[] {
  const t = r.tokens;
  if (t === undefined) return [h('h2', {}, 'LLM usage'), h('p', { class: 'muted' }, 'Not in this report.')];
  const row = (name: string, u: Usage, budgets: ReportBudget[] = []): Child[] => [
    name,
    fmtNum(u.calls),
    fmtNum(u.cacheHits),
    fmtNum(u.tokens),
    `${u.unknownCostCalls ? '≥ ' : ''}$${fmtNum(u.costUsd, 4)}`,
    budgetText(budgets),
  ];
  const heads = ['', 'calls', 'cached', 'tokens', 'cost', 'monthly budget used'];
  return [
    h('h2', {}, 'LLM usage'),
    t.total.calls === 0 ? h('p', { class: 'muted' }, 'No LLM call this week.') : null,
    table(heads, [
      row('all', t.total, t.total.budgets),
      ...t.byAgent.filter((a) => a.calls > 0).map((a) => row(a.agentId ?? 'system', a, a.budgets)),
      ...t.byProvider.filter((p) => p.calls > 0).map((p) => row(p.provider, p, p.budgets)),
    ]),
    t.byModel.length > 0
      ? [
          h('h3', {}, 'Per model'),
          table(
            ['model', 'calls', 'cached', 'tokens', 'cost'],
            t.byModel.map((m) => row(m.model, m).slice(0, 5)),
          ),
        ]
      : null,
  ];
}

function examsSection(r: WeeklyReport): Child[] {
  const e = r.exams;
  if (e === undefined) return [h('h2', {}, 'Exams'), h('p', { class: 'muted' }, 'Not in this report.')];
  return [
    h('h2', {}, 'Exams'),
    h(
      'p',
      {},
      `${e.taken} taken, ${e.passed} passed, ${e.failed} failed${e.errored ? `, ${e.errored} could not finish` : ''}${e.passRate === null ? '' : ` — pass rate ${fmtNum(e.passRate, 1)} %`}.`,
    ),
    e.byAgent.some((a) => a.taken + a.errored > 0)
      ? table(
          ['agent', 'taken', 'passed', 'failed', 'could not finish', 'pass rate'],
          e.byAgent
            .filter((a) => a.taken + a.errored > 0)
            .map((a) => [
              a.agentId,
              a.taken,
              a.passed,
              a.failed,
              a.errored,
              a.passRate === null ? '—' : `${fmtNum(a.passRate, 1)} %`,
            ]),
        )
      : null,
  ];
}

/** The month's use of each limited budget (the limits are monthly, the week's figures weekly). */
function budgetText(budgets: ReportBudget[]): string {
  const parts = budgets.flatMap((b) => [
    ...(b.monthlyTokens === null
      ? []
      : [
          `${fmtNum(b.usedTokens)} of ${fmtNum(b.monthlyTokens)} tokens${b.usedTokensPct === null ? '' : ` (${b.usedTokensPct} %)`} in ${b.month}`,
        ]),
    ...(b.monthlyUsd === null
      ? []
      : [
          `$${fmtNum(b.usedUsd, 2)} of $${fmtNum(b.monthlyUsd, 2)}${b.usedUsdPct === null ? '' : ` (${b.usedUsdPct} %)`} in ${b.month}`,
        ]),
  ]);
  return parts.length === 0 ? 'no limit' : parts.join('; ');
}

function weekTitle(r: StoredReport): string {
  const start = r.weekStart ?? r.report.weekStart;
  const end = r.report.weekEnd ? new Date(Date.parse(r.report.weekEnd) - 86_400_000).toISOString().slice(0, 10) : '?';
  return `${start} to ${end}`;
}

/** The report's headline figures (its message's second and fifth lines: LLM use and exams). */
function firstLines(r: StoredReport): string {
  const lines = r.message.split('\n');
  return [lines[1], lines.find((l) => l.startsWith('Exams:'))].filter(Boolean).join(' ');
}

/** No route reads one report: the list is read a page at a time (at most 10 pages) until it is found. */
async function findReport(id: string): Promise<StoredReport | null> {
  for (let offset = 0; offset < 1000; offset += 100) {
    const data = await api<Page<StoredReport>>(`/reports/weekly?limit=100&offset=${offset}`);
    const found = data.items.find((r) => r.notificationId === id);
    if (found) return found;
    if (offset + 100 >= data.page.total) break;
  }
  return null;
}
