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
    gradings: Array<{ score: number | null; error?: string; criteria?: Array<{ id?: string; name: string; weight: number; score: number; reason: string }>; tests?: Array<{ args: unknown[]; expected: unknown; actual?: unknown; passed: boolean; error?: string }> }>;
  }>;
}

/** The exams, newest first, each linked to its detail and its Temporal run. */
export async function examsPage(ctx: PageContext): Promise<HTMLElement> {
  const offset = Number(ctx.query.get('offset') ?? 0);
  const data = await api<Page<ExamSummary>>(`/custody/tests?limit=25&offset=${offset}`);
  return h(
    'section',
    {},
    h('h1', {}, 'Exams'),
    table(
      ['started', 'agent', 'category', 'difficulty', 'status', 'score', 'judge', 'workflow'],
      data.items.map((e) => [h('a', { href: `#/exams/${e.id}` }, fmtDate(e.startedAt)), e.agentId, e.category, `${e.difficulty}${e.olympus ? ' (Olympus)' : ''}`, badge(e.status), e.score === null ? '—' : `${fmtNum(e.score, 1)} / ${e.passMark}`, judgeCell(e), workflowLink(ctx.config, e.workflowId)]),
    ),
    pager('#/exams', data.page),
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
    h('p', {}, `${e.difficulty}${e.olympus ? ' · Olympus Treaty' : ''} · score ${fmtNum(e.score, 1)} (pass mark ${e.passMark}) · ${e.usage.calls} LLM calls, ${fmtNum(e.usage.inputTokens + e.usage.outputTokens)} tokens, $${fmtNum(e.usage.costUsd, 4)} · `, workflowLink(ctx.config, e.workflowId)),
    modelsLine(e),
    e.error ? h('p', { class: 'error' }, e.error) : null,
    e.items.map((item) =>
      h(
        'article',
        { class: 'card' },
        h('h2', {}, `Item ${item.position + 1} (${item.kind}) — ${item.score === null ? 'not graded' : `${fmtNum(item.score, 1)} / 100`}${item.spread ? ` · spread ${fmtNum(item.spread, 1)}` : ''}`),
        h('h3', {}, 'Prompt'),
        h('pre', { class: 'text' }, item.prompt),
        h('h3', {}, 'Answer'),
        h('pre', { class: 'text' }, item.answer ?? '(no answer)'),
        item.gradings.map((g, i) =>
          h(
            'div',
            { class: 'grading' },
            h('h3', {}, `Grading ${item.gradings.length > 1 ? i + 1 : ''} — ${g.score === null ? 'grading error (not counted)' : fmtNum(g.score, 1)}`),
            g.error ? h('p', { class: 'error' }, g.error) : null,
            g.criteria ? table(['criterion', 'weight', 'score', 'reason'], g.criteria.map((c) => [c.id === undefined ? c.name : `${c.id} · ${c.name}`, c.weight, `${c.score} / 10`, c.reason])) : null,
            g.tests ? table(['args', 'expected', 'actual', 'passed'], g.tests.map((t) => [JSON.stringify(t.args), JSON.stringify(t.expected), t.error ?? JSON.stringify(t.actual), t.passed ? '✓' : '✗'])) : null,
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
  return h('span', { class: e.judgeIndependence === 'same_model' ? 'error' : null }, `${e.models.judge} (${INDEPENDENCE[e.judgeIndependence]})`);
}

/** Who examined, answered and judged the exam, and whether the judge was independent of the answerer. */
function modelsLine(e: ExamSummary): HTMLElement | null {
  if (e.models === null) return null;
  const audit = e.models.auditJudge === null ? 'no second judge' : `audited by ${e.models.auditJudge}`;
  return h('p', {}, `examiner ${e.models.examiner} · answerer ${e.models.answerer} · judge `, judgeCell(e), ` · ${audit}`);
}
