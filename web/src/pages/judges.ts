import { api } from '../api';
import type { PageContext } from '../context';
import { fmtNum, h } from '../dom';

interface Judges {
  windowDays: number;
  auditSampleRate: number;
  minAlpha: number;
  minPairs: number;
  items: Array<{
    model: string;
    pairs: number;
    meanAbsoluteDifference: number | null;
    alpha: number | null;
    belowThreshold: boolean;
  }>;
}

/** Each judge model's agreement with the audit judges over the window, with what the figures mean. */
export async function judgesPage(_ctx: PageContext): Promise<HTMLElement> {
  const j = await api<Judges>('/custody/judges');
  const state = (x: Judges['items'][number]): [string, string] =>
    x.belowThreshold
      ? ['low', 'below threshold']
      : x.pairs < j.minPairs || x.alpha === null
        ? ['few', 'too few pairs']
        : ['ok', 'agrees'];
  return h(
    'section',
    {},
    h('h1', {}, 'Judges'),
    h(
      'div',
      { class: 'explain' },
      h(
        'p',
        {},
        `A share of the graded exam items (${fmtNum(j.auditSampleRate * 100, 1)} %, CUSTODY_AUDIT_SAMPLE_RATE) is graded again by an audit judge, a different model. Each pair of scores (0–100) compares the exam's judge with that auditor, over the last ${j.windowDays} days.`,
      ),
      h(
        'dl',
        {},
        h('dt', {}, 'pairs'),
        h(
          'dd',
          {},
          'how many audited items the model took part in, as the exam’s judge or as the auditor; below ',
          h('strong', {}, String(j.minPairs)),
          ' (CUSTODY_JUDGE_MIN_PAIRS) they are too few to judge.',
        ),
        h('dt', {}, 'mean difference'),
        h(
          'dd',
          {},
          'the average gap, in points out of 100, between this model’s score and the other judge’s for the same answer: 0 is identical, 10 means 10 points apart on average.',
        ),
        h('dt', {}, 'alpha'),
        h(
          'dd',
          {},
          'Krippendorff’s alpha, agreement beyond chance: 1 is perfect, 0 is no better than chance, below 0 is systematic disagreement. Below ',
          h('strong', {}, fmtNum(j.minAlpha, 3)),
          ' (CUSTODY_JUDGE_MIN_ALPHA) the judge is flagged: its grades are not to be trusted until its prompt or model is changed.',
        ),
      ),
    ),
    j.items.length === 0
      ? h(
          'div',
          { class: 'empty' },
          h('p', {}, `No audited item in the last ${j.windowDays} days.`),
          h(
            'p',
            { class: 'muted' },
            j.auditSampleRate === 0
              ? 'Auditing is off: set CUSTODY_AUDIT_SAMPLE_RATE above 0 (an audit judge is most useful on another provider than the exam judge).'
              : 'Audits come with exams: once exams run (on their schedule, or started from the Agents page), their audited items appear here.',
          ),
        )
      : h(
          'table',
          { class: 'judges' },
          h('caption', { class: 'sr-only' }, 'Agreement per judge model'),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['judge model', 'pairs', 'mean difference', 'alpha', 'state'].map((x) => h('th', { scope: 'col' }, x)),
            ),
          ),
          h(
            'tbody',
            {},
            j.items.map((x) => {
              const [cls, text] = state(x);
              return h(
                'tr',
                { 'data-model': x.model, 'data-state': cls },
                h('th', { scope: 'row' }, x.model),
                h('td', {}, fmtNum(x.pairs)),
                h('td', {}, x.meanAbsoluteDifference === null ? '—' : `${fmtNum(x.meanAbsoluteDifference, 2)} points`),
                h('td', {}, x.alpha === null ? '—' : fmtNum(x.alpha, 3)),
                h('td', {}, h('span', { class: `badge badge-judge-${cls}` }, text)),
              );
            }),
          ),
        ),
  );
}
