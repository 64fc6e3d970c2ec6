import { api } from '../api';
import type { PageContext } from '../context';
import { fmtDate, fmtNum, h } from '../dom';

interface Kpi {
  name: string;
  label: string;
  value: number | null;
  unit: 'ms' | '%' | 'alpha';
  target: number;
  comparator: '<=' | '>=';
  met: boolean | null;
  window: string;
  source: string;
  detail: string;
}
interface Kpis {
  measuredAt: string;
  summary: { met: number; notMet: number; noData: number };
  items: Kpi[];
}

const figure = (v: number, unit: Kpi['unit']) =>
  unit === 'alpha' ? `α ${fmtNum(v, 3)}` : `${fmtNum(v, unit === 'ms' ? 1 : 2)} ${unit}`;

/** Every KPI of ARCHITECTURE §8 measured now: met, not met or no data, with its figure, its target and why. */
export async function kpisPage(_ctx: PageContext): Promise<HTMLElement> {
  const k = await api<Kpis>('/kpis');
  const state = (x: Kpi) => (x.met === null ? ['nodata', 'no data'] : x.met ? ['met', 'met'] : ['notmet', 'not met']);
  return h(
    'section',
    {},
    h('h1', {}, 'KPIs'),
    h(
      'p',
      { class: 'kpi-summary' },
      h('strong', {}, `${k.summary.met} met`),
      ` · ${k.summary.notMet} not met · ${k.summary.noData} without data`,
      h('span', { class: 'muted' }, ` — measured ${fmtDate(k.measuredAt)}`),
    ),
    k.summary.noData === k.items.length
      ? h(
          'p',
          { class: 'empty' },
          'No KPI has data yet. The figures fill in as the API answers requests and the agents run: start an exam or a scan from the Agents page, or wait for the schedules.',
        )
      : null,
    h(
      'table',
      { class: 'kpis' },
      h('caption', { class: 'sr-only' }, 'Each KPI with its state, figure, target and the reason'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['KPI', 'state', 'figure', 'target', 'why', 'window'].map((x) => h('th', { scope: 'col' }, x)),
        ),
      ),
      h(
        'tbody',
        {},
        k.items.map((x) => {
          const [cls = '', text = ''] = state(x);
          return h(
            'tr',
            { 'data-kpi': x.name, 'data-state': cls },
            h('th', { scope: 'row' }, x.label),
            h('td', {}, h('span', { class: `badge badge-kpi-${cls}` }, text)),
            h('td', {}, x.value === null ? '—' : figure(x.value, x.unit)),
            h('td', {}, `${x.comparator === '<=' ? '≤' : '≥'} ${figure(x.target, x.unit)}`),
            h('td', {}, x.detail, h('details', {}, h('summary', {}, 'source'), h('p', { class: 'muted' }, x.source))),
            h('td', { class: 'muted' }, x.window),
          );
        }),
      ),
    ),
  );
}
