import { xpForLevel } from '../../../src/domain/levels';
import { api } from '../api';
import { lineChart } from '../chart';
import type { PageContext } from '../context';
import { badge, fmtDate, fmtNum, h, pct, table } from '../dom';
import { examCategories, startExamForm } from './exams';

interface Agent {
  id: string;
  name: string;
  role: string;
  status: string;
  statusReason: string | null;
  level: number;
  rank: string;
  xp: number;
  xpForNextLevel: number;
  levelHoldReason: string | null;
  custody: {
    examsTaken: number;
    examsPassed: number;
    consecutivePasses: number;
    consecutiveFailures: number;
    lastPassedAt: string | null;
  };
}
interface Skills {
  skills: Array<{
    category: string;
    rating: number | null;
    exams: number;
    history: Array<{ at: string; ratingAfter: number; score: number }>;
  }>;
}

/** The four agents: level, rank, XP bar, pass rate, ratings per category with their trend, pause/resume (operator). */
export async function agentsPage(ctx: PageContext): Promise<HTMLElement> {
  const { items } = await api<{ items: Agent[] }>('/agents');
  const [skills, categories] = await Promise.all([
    Promise.all(items.map((a) => api<Skills>(`/enhanced-learning/skills/${a.id}`))),
    examCategories(),
  ]);
  return h(
    'section',
    {},
    h('h1', {}, 'Agents'),
    h(
      'div',
      { class: 'cards' },
      items.map((a, i) => agentCard(ctx, a, skills[i] ?? { skills: [] }, categories)),
    ),
  );
}

function agentCard(
  ctx: PageContext,
  a: Agent,
  s: Skills,
  categories: Awaited<ReturnType<typeof examCategories>>,
): HTMLElement {
  const floor = xpForLevel(a.level);
  const passRate = a.custody.examsTaken === 0 ? null : a.custody.examsPassed / a.custody.examsTaken;
  const paused = a.status === 'paused';
  const toggle = async () => {
    await api(`/agents/${a.id}/${paused ? 'resume' : 'pause'}`, {
      method: 'POST',
      body: { reason: `${paused ? 'resumed' : 'paused'} from the console by ${ctx.me.name}` },
    });
    ctx.reload();
  };
  return h(
    'article',
    { class: 'card agent', 'data-agent': a.id },
    h(
      'header',
      {},
      h('h2', {}, a.name),
      badge(a.status),
      ctx.can('operator')
        ? h('button', { type: 'button', onclick: () => void toggle() }, paused ? 'Resume' : 'Pause')
        : null,
    ),
    h('p', { class: 'muted' }, a.role, a.statusReason ? ` — ${a.statusReason}` : ''),
    h('p', {}, h('strong', {}, `Level ${a.level}`), ` · ${a.rank} · ${fmtNum(a.xp)} XP`),
    h('progress', {
      class: 'xp',
      max: Math.max(1, a.xpForNextLevel - floor),
      value: Math.max(0, a.xp - floor),
      title: `${a.xp - floor} of ${a.xpForNextLevel - floor} XP to level ${a.level + 1}`,
    }),
    a.levelHoldReason ? h('p', { class: 'warn' }, `Level held: ${a.levelHoldReason}`) : null,
    h(
      'p',
      {},
      `Pass rate ${pct(passRate)} (${a.custody.examsPassed}/${a.custody.examsTaken}) · streak +${a.custody.consecutivePasses} / −${a.custody.consecutiveFailures} · last pass ${fmtDate(a.custody.lastPassedAt)}`,
    ),
    table(
      ['category', 'rating', 'exams'],
      s.skills.map((k) => [k.category, fmtNum(k.rating, 2), k.exams]),
    ),
    lineChart(
      s.skills
        .filter((k) => k.history.length > 0)
        .map((k) => ({
          name: k.category,
          points: k.history.map((p) => ({ at: p.at, value: p.ratingAfter, label: `exam score ${p.score}` })),
        })),
    ),
    h(
      'details',
      { class: 'start-card', open: a.custody.examsTaken === 0 && ctx.can('operator') },
      h('summary', {}, a.custody.examsTaken === 0 ? `No exam yet — start ${a.name}'s first` : 'Start an exam'),
      startExamForm(ctx, categories, { agentId: a.id }),
    ),
  );
}
