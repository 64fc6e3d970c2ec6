import { performanceVerdict } from '../../../src/domain/performance';
import { api } from '../api';
import { lineChart } from '../chart';
import type { PageContext } from '../context';
import { badge, fmtDate, fmtNum, h, pct } from '../dom';

interface Measure {
  name: string;
  latest: {
    baselineMs: number | null;
    currentMs: number;
    change: number | null;
    regressed: boolean;
    at: string;
  } | null;
  samples: Array<{ ms: number; commit: string | null; source: string; at: string }>;
}

/** Conquest's measures over time; every sample slower than its recent median by more than the threshold is marked. */
export async function performancePage(_ctx: PageContext): Promise<HTMLElement> {
  const { measures } = await api<{ measures: Measure[] }>('/conquest/performance?limit=50');
  return h(
    'section',
    {},
    h('h1', {}, 'Performance'),
    measures.length === 0 ? h('p', { class: 'muted' }, 'No measures yet: run a Conquest analysis.') : null,
    h(
      'div',
      { class: 'cards' },
      measures.map((m) =>
        h(
          'article',
          { class: 'card' },
          h('h2', {}, m.name, ' ', m.latest?.regressed ? badge('regressed') : null),
          m.latest
            ? h(
                'p',
                {},
                `latest ${fmtNum(m.latest.currentMs, 2)} ms vs median ${fmtNum(m.latest.baselineMs, 2)} ms (${m.latest.change === null ? 'no baseline' : pct(m.latest.change)}) · ${fmtDate(m.latest.at)}`,
              )
            : null,
          lineChart(
            [
              {
                name: m.name,
                points: m.samples.map((s, i) => {
                  const v = performanceVerdict(
                    m.samples.slice(0, i).map((p) => p.ms),
                    s.ms,
                  );
                  return {
                    at: s.at,
                    value: s.ms,
                    marked: v.regressed,
                    label: v.regressed
                      ? `regression: +${pct(v.change)} over the median ${fmtNum(v.baselineMs, 2)} ms`
                      : (s.commit?.slice(0, 8) ?? s.source),
                  };
                }),
              },
            ],
            { unit: ' ms' },
          ),
        ),
      ),
    ),
  );
}
