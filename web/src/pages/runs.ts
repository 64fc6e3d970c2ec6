import { api, type Page } from '../api';
import { workflowLink, type PageContext } from '../context';
import { badge, fmtDate, h, json, table } from '../dom';
import { pager } from './pager';

interface Run {
  id: string;
  workflowId: string;
  agentId: string;
  trigger: string;
  status: string;
  summary: Record<string, unknown>;
  steps: unknown;
  error: string | null;
  isolation: string | null;
  startedAt: string;
  completedAt: string | null;
}

const STATUSES = ['running', 'completed', 'failed', 'skipped'];

/** An agent-run list (cycles, scans, experiments, analyses): the same shape behind every area's `GET` list. */
export function runsPage(path: string, title: string) {
  return async (ctx: PageContext): Promise<HTMLElement> => {
    const route = location.hash.split('?')[0] ?? '';
    const status = ctx.query.get('status') ?? '';
    const q = new URLSearchParams({ limit: '25', offset: ctx.query.get('offset') ?? '0' });
    if (status !== '') q.set('status', status);
    const data = await api<Page<Run>>(`${path}?${q.toString()}`);
    return h(
      'section',
      {},
      h('h1', {}, title),
      h('p', { class: 'filters' }, [['', 'all'], ...STATUSES.map((s) => [s, s])].map(([value = '', text = '']) => h('a', { href: `${route}?status=${value}`, class: value === status ? 'active' : null }, text))),
      table(
        ['started', 'status', 'trigger', 'sandbox', 'summary', 'workflow'],
        data.items.map((r) => [
          fmtDate(r.startedAt),
          badge(r.status),
          r.trigger,
          r.isolation === null ? '—' : badge(r.isolation),
          h('details', {}, h('summary', {}, summaryLine(r)), h('h3', {}, 'Summary'), json(r.summary), h('h3', {}, 'Steps'), json(r.steps)),
          workflowLink(ctx.config, r.workflowId),
        ]),
      ),
      pager(route, data.page, new URLSearchParams({ status })),
    );
  };
}

/** The run's scalar summary figures in one line (counts, durations); the whole summary is one click away. */
function summaryLine(r: Run): string {
  if (r.error) return `error: ${r.error}`;
  const parts = Object.entries(r.summary)
    .filter(([, v]) => typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean')
    .slice(0, 5)
    .map(([k, v]) => `${k}: ${String(v)}`);
  return parts.length > 0 ? parts.join(' · ') : r.completedAt ? `done ${fmtDate(r.completedAt)}` : 'details';
}
