import { api, type Page } from '../api';
import { lineChart, type Series } from '../chart';
import type { PageContext } from '../context';
import { fmtNum, h, table } from '../dom';

interface Totals {
  calls: number;
  cacheHits: number;
  inputTokens: number;
  outputTokens: number;
  /** A lower bound when `unknownCostCalls` > 0. */
  costUsd: number;
  unknownCostCalls?: number;
}
interface Budget {
  monthlyTokens: number | null;
  monthlyUsd: number | null;
  usedTokens: number;
  usedUsd: number;
}
interface Summary {
  month: string;
  totals: Totals;
  budget?: Budget;
  byAgent: Array<Totals & { agentId: string | null; budget?: Budget | null }>;
  byProvider: Array<Totals & { provider: string; configured: boolean; budget?: Budget | null }>;
  llm: { configured: boolean };
}
interface UsageEvent {
  at: string;
  agentId: string | null;
  inputTokens: number;
  outputTokens: number;
  costUsd: number | null;
}

/** The most ledger rows the month chart reads (10 pages); beyond that the chart says it is partial. */
const MAX_EVENTS = 1000;

/** Spend per agent and provider against their monthly budgets, and the month's cumulative tokens per agent. */
export async function tokenUsagePage(ctx: PageContext): Promise<HTMLElement> {
  const month = ctx.query.get('month') ?? new Date().toISOString().slice(0, 7);
  const s = await api<Summary>(`/token-usage/summary?month=${encodeURIComponent(month)}`);
  const { events, total } = await monthEvents(month);
  const picker = h('input', {
    type: 'month',
    value: month,
    'aria-label': 'month',
    onchange: (e: Event) => (location.hash = `#/tokens?month=${(e.target as HTMLInputElement).value}`),
  });
  const row = (name: string, t: Totals, b: Budget | null | undefined) => [
    name,
    fmtNum(t.calls),
    fmtNum(t.inputTokens + t.outputTokens),
    cost(t),
    meter(t.inputTokens + t.outputTokens, b?.monthlyTokens),
    meter(t.costUsd, b?.monthlyUsd, '$'),
  ];
  const heads = ['', 'calls', 'tokens', 'cost', 'vs token budget', 'vs USD budget'];
  return h(
    'section',
    {},
    h('h1', {}, 'Token usage ', picker),
    s.llm.configured ? null : h('p', { class: 'warn' }, 'No LLM provider is configured.'),
    table(heads, [row('all', s.totals, s.budget)]),
    h('h2', {}, 'Per agent'),
    table(
      heads,
      s.byAgent.map((a) => row(a.agentId ?? 'system', a, a.budget)),
    ),
    h('h2', {}, 'Per provider'),
    table(
      heads,
      s.byProvider.map((p) => row(`${p.provider}${p.configured ? '' : ' (not configured)'}`, p, p.budget)),
    ),
    h('h2', {}, 'Cumulative tokens this month'),
    total > events.length ? h('p', { class: 'muted' }, `Showing the first ${events.length} of ${total} calls.`) : null,
    lineChart(cumulative(events)),
  );
}

/** The cost, marked as a lower bound when some calls went to models with no known price. */
function cost(t: Totals): string {
  return t.unknownCostCalls
    ? `≥ $${fmtNum(t.costUsd, 4)} (${fmtNum(t.unknownCostCalls)} calls unpriced)`
    : `$${fmtNum(t.costUsd, 4)}`;
}

function meter(used: number, limit: number | null | undefined, unit = ''): HTMLElement | string {
  if (limit === null || limit === undefined || limit <= 0) return 'no limit';
  const cls = used >= limit ? 'over' : used >= limit * 0.8 ? 'near' : 'ok';
  return h(
    'span',
    { class: `budget ${cls}` },
    h('meter', { min: 0, max: limit, value: Math.min(used, limit), low: limit * 0.8, high: limit * 0.95, optimum: 0 }),
    ` ${unit}${fmtNum(used, 2)} / ${unit}${fmtNum(limit, 2)}`,
  );
}

async function monthEvents(month: string): Promise<{ events: UsageEvent[]; total: number }> {
  const events: UsageEvent[] = [];
  let total = 0;
  for (let offset = 0; offset < MAX_EVENTS; offset += 100) {
    const page = await api<Page<UsageEvent>>(
      `/token-usage/events?month=${encodeURIComponent(month)}&limit=100&offset=${offset}`,
    );
    events.push(...page.items);
    total = page.page.total;
    if (offset + 100 >= total) break;
  }
  return { events, total };
}

function cumulative(events: UsageEvent[]): Series[] {
  const byAgent = new Map<string, Series>();
  const sums = new Map<string, number>();
  for (const e of [...events].sort((a, b) => a.at.localeCompare(b.at))) {
    const name = e.agentId ?? 'system';
    const sum = (sums.get(name) ?? 0) + e.inputTokens + e.outputTokens;
    sums.set(name, sum);
    const series = byAgent.get(name) ?? { name, points: [] };
    series.points.push({ at: e.at, value: sum });
    byAgent.set(name, series);
  }
  return [...byAgent.values()];
}
