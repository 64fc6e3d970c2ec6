import { h, svg } from './dom';

export interface Series {
  name: string;
  points: Array<{ at: string; value: number; marked?: boolean; label?: string }>;
}

const W = 560;
const H = 180;
const PAD = { left: 48, right: 12, top: 10, bottom: 24 };

/**
 * A small SVG line chart of values over time, one line per series (colour by class `series-<i>`); marked points
 * (e.g. regressions) are drawn as red rings with their label as a tooltip. No library, no inline style.
 */
export function lineChart(series: Series[], opts: { unit?: string } = {}): HTMLElement {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return h('p', { class: 'muted' }, 'No data yet.');
  const times = all.map((p) => Date.parse(p.at));
  const values = all.map((p) => p.value);
  const [t0, t1] = [Math.min(...times), Math.max(...times)];
  let [v0, v1] = [Math.min(...values), Math.max(...values)];
  if (v0 === v1) [v0, v1] = [v0 - 1, v1 + 1];
  const x = (at: string) =>
    PAD.left +
    (t1 === t0 ? (W - PAD.left - PAD.right) / 2 : ((Date.parse(at) - t0) / (t1 - t0)) * (W - PAD.left - PAD.right));
  const y = (v: number) => H - PAD.bottom - ((v - v0) / (v1 - v0)) * (H - PAD.top - PAD.bottom);

  // Named for screen readers (an unnamed role=img is an axe "serious" violation): what is drawn, over which span.
  const label = `Line chart of ${series.map((s) => s.name).join(', ')}: ${all.length} points from ${new Date(t0).toLocaleDateString()} to ${new Date(t1).toLocaleDateString()}, values ${Math.round(Math.min(...values) * 10) / 10} to ${Math.round(Math.max(...values) * 10) / 10}${opts.unit ?? ''}`;
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': label });
  for (const v of [v0, (v0 + v1) / 2, v1]) {
    chart.append(svg('line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: 'grid' }));
    chart.append(
      svg(
        'text',
        { x: PAD.left - 4, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' },
        `${Math.round(v * 10) / 10}${opts.unit ?? ''}`,
      ),
    );
  }
  chart.append(svg('text', { x: PAD.left, y: H - 6, class: 'axis' }, new Date(t0).toLocaleDateString()));
  chart.append(
    svg('text', { x: W - PAD.right, y: H - 6, class: 'axis', 'text-anchor': 'end' }, new Date(t1).toLocaleDateString()),
  );
  series.forEach((s, i) => {
    const cls = `series-${i % 6}`;
    if (s.points.length > 1)
      chart.append(
        svg('polyline', { points: s.points.map((p) => `${x(p.at)},${y(p.value)}`).join(' '), class: `line ${cls}` }),
      );
    for (const p of s.points) {
      const dot = svg('circle', {
        cx: x(p.at),
        cy: y(p.value),
        r: p.marked ? 5 : 2.5,
        class: p.marked ? 'marked' : `dot ${cls}`,
      });
      dot.append(
        svg(
          'title',
          {},
          `${s.name}: ${Math.round(p.value * 100) / 100}${opts.unit ?? ''} at ${new Date(p.at).toLocaleString()}${p.label ? ` — ${p.label}` : ''}`,
        ),
      );
      chart.append(dot);
    }
  });
  const legend = h(
    'ul',
    { class: 'legend' },
    series.map((s, i) => h('li', { class: `series-${i % 6}` }, s.name)),
  );
  return h('figure', { class: 'chart-box' }, chart, series.length > 1 ? legend : null);
}
