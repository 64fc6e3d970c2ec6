import { AGENT_IDS, EXAM_CATEGORIES } from '../../../src/domain/agents';
import { field, fill as fillWith, select, startForm } from '../actions';
import { api, type Page } from '../api';
import { workflowLink, type PageContext } from '../context';
import { badge, fmtDate, fmtNum, h, json, table } from '../dom';
import { pager } from './pager';

interface ExamSummary {
  id: string;
  workflowId: string;
  agentId: string;
  category: string;
  difficulty: string;
  olympus: boolean;
  status: string;
  score: number | null;
  passMark: number;
  startedAt: string;
  models: { examiner: string; answerer: string; judge: string; auditJudge: string | null } | null;
  judgeIndependence: 'independent_provider' | 'different_model' | 'same_model' | null;
}
interface Exam extends ExamSummary {
  error: string | null;
  usage: { inputTokens: number; outputTokens: number; costUsd: number; calls: number };
  items: Array<{
    position: number;
    kind: string;
    prompt: string;
    answer: string | null;
    score: number | null;
    spread: number | null;
    hiddenTests: unknown;
    gradings: Array<{
      score: number | null;
      error?: string;
      criteria?: Array<{ id?: string; name: string; weight: number; score: number; reason: string }>;
      tests?: Array<{ args: unknown[]; expected: unknown; actual?: unknown; passed: boolean; error?: string }>;
    }>;
  }>;
}

/** Mirrors EXAM_STATUSES (src/db/entities/exam.entity.ts, which the browser cannot import). */
const EXAM_STATUSES = ['running', 'passed', 'failed', 'error', 'skipped', 'cancelled'];
const FILTERS = ['agentId', 'category', 'status', 'olympus'] as const;

interface Categories {
  categories: Array<{ id: string; agents: string[] }>;
}

/** GET /api/custody/categories, once per page load: which categories each agent is examined in. */
export async function examCategories(): Promise<Categories['categories']> {
  return (await api<Categories>('/custody/categories')).categories;
}

/**
 * "Start exam": an agent (fixed when `agentId` is given, as on an agent's card) and an optional category among the
 * agent's own; then the exam followed live, with a link to its page once it ended.
 */
export function startExamForm(
  ctx: PageContext,
  categories: Categories['categories'],
  opts: { agentId?: string; onEnd?: () => void } = {},
): HTMLElement {
  const agent = opts.agentId === undefined ? select('agentId', [...AGENT_IDS]) : null;
  const category = select('category', [], { any: "the agent's next category (default)" });
  const fillCategories = () => {
    const id = opts.agentId ?? agent?.value ?? '';
    const keep = category.value;
    fillWith(
      category,
      h('option', { value: '' }, "the agent's next category (default)"),
      categories
        .filter((c) => c.agents.includes(id))
        .map((c) => h('option', { value: c.id, selected: c.id === keep }, c.id.replace(/_/g, ' '))),
    );
  };
  agent?.addEventListener('change', fillCategories);
  fillCategories();
  return startForm(ctx, {
    action: 'start-exam',
    label: 'Start exam',
    path: '/custody/tests',
    body: (f) => {
      const body: { agentId: string; category?: string } = { agentId: opts.agentId ?? String(f.get('agentId') ?? '') };
      const c = String(f.get('category') ?? '');
      if (c !== '') body.category = c;
      return body;
    },
    fields: [agent ? field('Agent', agent) : null, field('Category (optional)', category)],
    links: (s) => [
      h('a', { href: `#/exams/${encodeURIComponent(s.workflowId)}`, class: 'exam-link' }, 'Open the exam →'),
    ],
    onEnd: opts.onEnd,
  });
}

/** The exams, newest first, filtered by agent, category, status and Olympus (kept in the hash), each linked to its detail and its Temporal run. */
export async function examsPage(ctx: PageContext): Promise<HTMLElement> {
  const offset = Number(ctx.query.get('offset') ?? 0);
  const filters = new URLSearchParams();
  for (const name of FILTERS) {
    const value = ctx.query.get(name) ?? '';
    if (value !== '') filters.set(name, value);
  }
  const q = new URLSearchParams({ limit: '25', offset: String(offset) });
  for (const [k, v] of filters) q.set(k, v);
  const [data, categories] = await Promise.all([
    api<Page<ExamSummary>>(`/custody/tests?${q.toString()}`),
    examCategories(),
  ]);
  const form = h(
    'form',
    { class: 'filters exam-filters', 'aria-label': 'Filter exams' },
    field('Agent', select('agentId', [...AGENT_IDS], { value: filters.get('agentId') ?? '', any: 'any agent' })),
    field(
      'Category',
      select(
        'category',
        [...EXAM_CATEGORIES].map((c) => [c, c.replace(/_/g, ' ')] as [string, string]),
        { value: filters.get('category') ?? '', any: 'any category' },
      ),
    ),
    field('Status', select('status', EXAM_STATUSES, { value: filters.get('status') ?? '', any: 'any status' })),
    field(
      'Olympus',
      select(
        'olympus',
        [
          ['true', 'Olympus only'],
          ['false', 'ordinary only'],
        ],
        { value: filters.get('olympus') ?? '', any: 'any' },
      ),
    ),
    h('button', { type: 'submit' }, 'Filter'),
    filters.size > 0 ? h('a', { href: '#/exams' }, 'clear') : null,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const chosen = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (typeof v === 'string' && v !== '') chosen.set(k, v);
    location.hash = chosen.size > 0 ? `#/exams?${chosen.toString()}` : '#/exams';
  });
  const refresh = h('p', { class: 'refresh-holder' });
  const start = startExamForm(ctx, categories, {
    onEnd: () =>
      refresh.replaceChildren(
        h(
          'button',
          { type: 'button', class: 'small refresh', onclick: () => ctx.reload() },
          'Show the exam in the list ↻',
        ),
      ),
  });
  const empty = data.page.total === 0 && filters.size === 0;
  return h(
    'section',
    {},
    h('h1', {}, 'Exams'),
    empty
      ? h(
          'div',
          { class: 'card empty-state' },
          h('h2', {}, 'No exam yet — start one'),
          h(
            'p',
            {},
            'An exam tests an agent in one of its categories: an examiner model writes the items, the agent answers, independent judges grade. Passing earns XP and levels.',
          ),
          start,
          refresh,
        )
      : h(
          'details',
          { class: 'card start-card', open: ctx.can('operator') },
          h('summary', {}, 'Start an exam'),
          start,
          refresh,
        ),
    form,
    table(
      ['started', 'agent', 'category', 'difficulty', 'status', 'score', 'judge', 'workflow'],
      data.items.map((e) => [
        h('a', { href: `#/exams/${e.id}` }, fmtDate(e.startedAt)),
        e.agentId,
        e.category,
        `${e.difficulty}${e.olympus ? ' (Olympus)' : ''}`,
        badge(e.status),
        e.score === null ? '—' : `${fmtNum(e.score, 1)} / ${e.passMark}`,
        judgeCell(e),
        workflowLink(ctx.config, e.workflowId),
      ]),
      filters.size > 0 ? 'No exam matches these filters.' : 'No exam yet.',
    ),
    pager('#/exams', data.page, filters),
  );
}

/** One exam: every item, the agent's answer, and each grading with its per-criterion scores and reasons. */
export async function examPage(ctx: PageContext): Promise<HTMLElement> {
  const e = await api<Exam>(`/custody/tests/${encodeURIComponent(ctx.params[0] ?? '')}`);
  return h(
    'section',
    {},
    h('p', {}, h('a', { href: '#/exams' }, '← Exams')),
    h('h1', {}, `${e.agentId} · ${e.category}`, ' ', badge(e.status)),
    h(
      'p',
      {},
      `${e.difficulty}${e.olympus ? ' · Olympus Treaty' : ''} · score ${fmtNum(e.score, 1)} (pass mark ${e.passMark}) · ${e.usage.calls} LLM calls, ${fmtNum(e.usage.inputTokens + e.usage.outputTokens)} tokens, $${fmtNum(e.usage.costUsd, 4)} · `,
      workflowLink(ctx.config, e.workflowId),
    ),
    modelsLine(e),
    e.error ? h('p', { class: 'error' }, e.error) : null,
    e.items.map((item) =>
      h(
        'article',
        { class: 'card' },
        h(
          'h2',
          {},
          `Item ${item.position + 1} (${item.kind}) — ${item.score === null ? 'not graded' : `${fmtNum(item.score, 1)} / 100`}${item.spread ? ` · spread ${fmtNum(item.spread, 1)}` : ''}`,
        ),
        h('h3', {}, 'Prompt'),
        h('pre', { class: 'text' }, item.prompt),
        h('h3', {}, 'Answer'),
        h('pre', { class: 'text' }, item.answer ?? '(no answer)'),
        item.gradings.map((g, i) =>
          h(
            'div',
            { class: 'grading' },
            h(
              'h3',
              {},
              `Grading ${item.gradings.length > 1 ? i + 1 : ''} — ${g.score === null ? 'grading error (not counted)' : fmtNum(g.score, 1)}`,
            ),
            g.error ? h('p', { class: 'error' }, g.error) : null,
            g.criteria
              ? table(
                  ['criterion', 'weight', 'score', 'reason'],
                  g.criteria.map((c) => [
                    c.id === undefined ? c.name : `${c.id} · ${c.name}`,
                    c.weight,
                    `${c.score} / 10`,
                    c.reason,
                  ]),
                )
              : null,
            g.tests
              ? table(
                  ['args', 'expected', 'actual', 'passed'],
                  g.tests.map((t) => [
                    JSON.stringify(t.args),
                    JSON.stringify(t.expected),
                    t.error ?? JSON.stringify(t.actual),
                    t.passed ? '✓' : '✗',
                  ]),
                )
              : null,
          ),
        ),
        item.hiddenTests && item.gradings.length === 0 ? json(item.hiddenTests) : null,
      ),
    ),
  );
}

const INDEPENDENCE: Record<NonNullable<ExamSummary['judgeIndependence']>, string> = {
  independent_provider: 'independent provider',
  different_model: 'different model, same provider',
  same_model: 'same model as the answerer: not independent',
};

function judgeCell(e: ExamSummary): HTMLElement | string {
  if (e.models === null || e.judgeIndependence === null) return '—';
  return h(
    'span',
    { class: e.judgeIndependence === 'same_model' ? 'error' : null },
    `${e.models.judge} (${INDEPENDENCE[e.judgeIndependence]})`,
  );
}

/** Who examined, answered and judged the exam, and whether the judge was independent of the answerer. */
function modelsLine(e: ExamSummary): HTMLElement | null {
  if (e.models === null) return null;
  const audit = e.models.auditJudge === null ? 'no second judge' : `audited by ${e.models.auditJudge}`;
  return h(
    'p',
    {},
    `examiner ${e.models.examiner} · answerer ${e.models.answerer} · judge `,
    judgeCell(e),
    ` · ${audit}`,
  );
}
