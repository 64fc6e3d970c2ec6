import { detailList, startForm } from '../actions';
import { api, type Page } from '../api';
import { workflowLink, type PageContext } from '../context';
import { badge, fmtDate, h, json, table, type Child } from '../dom';
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

/** How each list starts its kind of run: the routes take no input (the target and the rules come from the config). */
const STARTS: Record<string, { action: string; label: string; noun: string; hint: string }> = {
  '/imperium/cycles': {
    action: 'start-cycle',
    label: 'Start a learning cycle',
    noun: 'cycle',
    hint: "Imperium plans the cycle, runs one of each agent's work (an exam, a scan, an experiment) as child workflows, writes knowledge notes and may start a proposal.",
  },
  '/guardian/scans': {
    action: 'start-scan',
    label: 'Start a scan',
    noun: 'scan',
    hint: "Guardian runs the security tools on the target's main branch, triages what they find with its model and records the findings.",
  },
  '/sandbox/experiments': {
    action: 'start-experiment',
    label: 'Start an experiment',
    noun: 'experiment',
    hint: "Sandbox runs the target's tests in the sandbox, designs a test of its own and keeps it as a finding when it passes and adds coverage.",
  },
  '/conquest/analyses': {
    action: 'start-analysis',
    label: 'Start an analysis',
    noun: 'analysis',
    hint: "Conquest measures the target's benchmarks in the sandbox, compares them with earlier measurements and explains a regression.",
  },
};

/** An agent-run list (cycles, scans, experiments, analyses): the same shape behind every area's `GET` list. */
export function runsPage(path: string, title: string) {
  return async (ctx: PageContext): Promise<HTMLElement> => {
    const route = location.hash.split('?')[0] ?? '';
    const status = ctx.query.get('status') ?? '';
    const q = new URLSearchParams({ limit: '25', offset: ctx.query.get('offset') ?? '0' });
    if (status !== '') q.set('status', status);
    const data = await api<Page<Run>>(`${path}?${q.toString()}`);
    const spec = STARTS[path];
    const refresh = h('p', { class: 'refresh-holder' });
    const start = spec
      ? startForm(ctx, {
          ...spec,
          path,
          result: (started) => recordedRun(path, started.workflowId),
          onEnd: () =>
            refresh.replaceChildren(
              h(
                'button',
                { type: 'button', class: 'small refresh', onclick: () => ctx.reload() },
                `Show the ${spec.noun} in the list ↻`,
              ),
            ),
        })
      : null;
    const empty = data.page.total === 0 && status === '';
    return h(
      'section',
      {},
      h('h1', {}, title),
      spec && start
        ? empty
          ? h(
              'div',
              { class: 'card empty-state' },
              h('h2', {}, `No ${spec.noun} yet — ${spec.label.toLowerCase()}`),
              start,
              refresh,
            )
          : h(
              'details',
              { class: 'card start-card', open: ctx.can('operator') },
              h('summary', {}, spec.label),
              start,
              refresh,
            )
        : null,
      h(
        'p',
        { class: 'filters' },
        [['', 'all'], ...STATUSES.map((s) => [s, s])].map(([value = '', text = '']) =>
          h('a', { href: `${route}?status=${value}`, class: value === status ? 'active' : null }, text),
        ),
      ),
      table(
        ['started', 'status', 'trigger', 'sandbox', 'summary', 'workflow'],
        data.items.map((r) => [
          fmtDate(r.startedAt),
          badge(r.status),
          r.trigger,
          r.isolation === null ? '—' : badge(r.isolation),
          h(
            'details',
            {},
            h('summary', {}, summaryLine(r)),
            h('h3', {}, 'Summary'),
            json(r.summary),
            h('h3', {}, 'Steps'),
            json(r.steps),
          ),
          workflowLink(ctx.config, r.workflowId),
        ]),
      ),
      pager(route, data.page, new URLSearchParams({ status })),
    );
  };
}

/** The run a start recorded (the newest of its kind, found by its workflow id): its status, its summary field by field, its error. */
async function recordedRun(path: string, workflowId: string): Promise<Child> {
  const { items } = await api<Page<Run>>(`${path}?limit=25`);
  const run = items.find((r) => r.workflowId === workflowId);
  if (run === undefined) return h('p', { class: 'muted' }, 'The run is not in the latest 25 of the list.');
  return h(
    'div',
    { class: 'recorded-run', 'data-status': run.status },
    h('p', {}, 'Recorded as ', badge(run.status), run.isolation ? [' · sandbox ', badge(run.isolation)] : null),
    run.error ? h('p', { class: 'error' }, run.error) : null,
    detailList(run.summary),
  );
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
