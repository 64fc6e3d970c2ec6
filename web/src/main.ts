import './style.css';
import {
  ApiError,
  api,
  loadConsoleConfig,
  session,
  whenUnauthorized,
  type ConsoleConfig,
  type Me,
  type Role,
  type SystemState,
} from './api';
import { canAct, type PageContext } from './context';
import { badge, h } from './dom';
import { agentsPage } from './pages/agents';
import { auditPage } from './pages/audit';
import { budgetsPage } from './pages/budgets';
import { examPage, examsPage } from './pages/exams';
import { findingsPage } from './pages/findings';
import { judgesPage } from './pages/judges';
import { kpisPage } from './pages/kpis';
import { notificationsPage } from './pages/notifications';
import { performancePage } from './pages/performance';
import { proposalPage, proposalsPage } from './pages/proposals';
import { reportPage, reportsPage } from './pages/reports';
import { runsPage } from './pages/runs';
import { schedulesPage } from './pages/schedules';
import { systemPage } from './pages/system';
import { tokenUsagePage } from './pages/tokens';
import { unreadBadge } from './unread';

type Page = (ctx: PageContext) => Promise<HTMLElement>;

/**
 * Hash routes (`#/proposals/<id>?…`): the server serves one index.html and never sees the route. The nav has two rows:
 * the agents' work, then (`group: 'operate'`) running the system: schedules, figures, money, health, audit.
 */
const ROUTES: Array<{ pattern: RegExp; title: string; page: Page; nav?: string; role?: Role; group?: 'operate' }> = [
  { pattern: /^agents$/, title: 'Agents', page: agentsPage, nav: '#/agents' },
  { pattern: /^exams$/, title: 'Exams', page: examsPage, nav: '#/exams' },
  { pattern: /^exams\/([^/]+)$/, title: 'Exam', page: examPage },
  { pattern: /^proposals$/, title: 'Proposals', page: proposalsPage, nav: '#/proposals' },
  { pattern: /^proposals\/([^/]+)$/, title: 'Proposal', page: proposalPage },
  { pattern: /^cycles$/, title: 'Cycles', page: runsPage('/imperium/cycles', 'Learning cycles'), nav: '#/cycles' },
  { pattern: /^scans$/, title: 'Scans', page: runsPage('/guardian/scans', 'Guardian scans'), nav: '#/scans' },
  { pattern: /^findings$/, title: 'Findings', page: findingsPage, nav: '#/findings' },
  {
    pattern: /^experiments$/,
    title: 'Experiments',
    page: runsPage('/sandbox/experiments', 'Sandbox experiments'),
    nav: '#/experiments',
  },
  {
    pattern: /^analyses$/,
    title: 'Analyses',
    page: runsPage('/conquest/analyses', 'Conquest analyses'),
    nav: '#/analyses',
  },
  { pattern: /^performance$/, title: 'Performance', page: performancePage, nav: '#/performance' },
  { pattern: /^notifications$/, title: 'Notifications', page: notificationsPage, nav: '#/notifications' },
  { pattern: /^schedules$/, title: 'Schedules', page: schedulesPage, nav: '#/schedules', group: 'operate' },
  { pattern: /^kpis$/, title: 'KPIs', page: kpisPage, nav: '#/kpis', group: 'operate' },
  { pattern: /^reports$/, title: 'Weekly reports', page: reportsPage, nav: '#/reports', group: 'operate' },
  { pattern: /^reports\/([^/]+)$/, title: 'Weekly report', page: reportPage },
  { pattern: /^tokens$/, title: 'Token usage', page: tokenUsagePage, nav: '#/tokens', group: 'operate' },
  { pattern: /^budgets$/, title: 'Budgets', page: budgetsPage, nav: '#/budgets', group: 'operate' },
  { pattern: /^judges$/, title: 'Judges', page: judgesPage, nav: '#/judges', group: 'operate' },
  { pattern: /^system$/, title: 'System', page: systemPage, nav: '#/system', group: 'operate' },
  { pattern: /^audit$/, title: 'Audit log', page: auditPage, nav: '#/audit', role: 'admin', group: 'operate' },
];

const root = document.getElementById('app') as HTMLElement;
let config: ConsoleConfig;
let me: Me | null = null;
let leave: Array<() => void> = [];
/** the nav's unread count, one for the session (started at sign-in, stopped at sign-out) */
let unread: ReturnType<typeof unreadBadge> | null = null;

function signIn(message?: string): void {
  me = null;
  unread?.stop();
  unread = null;
  const input = h('input', {
    type: 'password',
    name: 'key',
    autocomplete: 'off',
    placeholder: 'lvl_…',
    required: true,
    'aria-label': 'API key',
  });
  const error = h('p', { class: 'error', role: 'alert' }, message ?? '');
  const form = h(
    'form',
    { class: 'signin' },
    h('h1', {}, 'Lvl_UP console'),
    h('label', {}, 'API key', input),
    h('button', { type: 'submit' }, 'Sign in'),
    error,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    session.set(input.value.trim());
    void start().catch((err: unknown) => {
      session.clear();
      signIn(err instanceof ApiError && err.status === 401 ? 'That key is not valid.' : String(err));
    });
  });
  root.replaceChildren(form);
  input.focus();
}

async function start(): Promise<void> {
  me = await api<Me>('/me');
  unread ??= unreadBadge();
  if (location.hash === '' || location.hash === '#/') location.hash = '#/agents';
  else await render();
}

async function render(): Promise<void> {
  if (me === null) return;
  for (const fn of leave) fn();
  leave = [];
  const [route = '', queryString = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const match = ROUTES.map((r) => ({ r, m: r.pattern.exec(route) })).find((x) => x.m !== null);
  const main = h('main', {}, h('p', { class: 'muted' }, 'Loading…'));
  const signOut = h(
    'button',
    {
      type: 'button',
      class: 'link',
      onclick: () => {
        session.clear();
        signIn();
      },
    },
    'Sign out',
  );
  const visible = ROUTES.filter((r) => r.nav && (r.role === undefined || canAct(me as Me, r.role)));
  const link = (r: (typeof ROUTES)[number]) =>
    h(
      'a',
      { href: r.nav ?? '#', class: r === match?.r ? 'active' : null, 'aria-current': r === match?.r ? 'page' : null },
      r.title,
      r.nav === '#/notifications' ? unread?.element : null,
    );
  const nav = h(
    'nav',
    { 'aria-label': 'Console' },
    h(
      'div',
      { class: 'nav-row' },
      h('strong', {}, 'Lvl_UP'),
      visible.filter((r) => r.group === undefined).map(link),
      sandboxIndicator(),
      h(
        'span',
        { class: 'who' },
        `${me.name} · `,
        h('span', { class: 'role', 'data-role': me.role }, me.role),
        ' ',
        signOut,
      ),
    ),
    h(
      'div',
      { class: 'nav-row nav-operate' },
      h('span', { class: 'nav-group' }, 'Operate'),
      visible.filter((r) => r.group === 'operate').map(link),
    ),
  );
  root.replaceChildren(nav, main);
  if (match === undefined || match.m === null) {
    main.replaceChildren(h('p', {}, 'No such page.'));
    return;
  }
  document.title = `${match.r.title} · Lvl_UP`;
  const signedIn = me;
  const ctx: PageContext = {
    me: signedIn,
    config,
    params: match.m.slice(1).map((p) => decodeURIComponent(p ?? '')),
    query: new URLSearchParams(queryString),
    can: (role) => canAct(signedIn, role),
    onLeave: (fn) => leave.push(fn),
    reload: () => void render(),
  };
  try {
    main.replaceChildren(await match.r.page(ctx));
  } catch (err) {
    main.replaceChildren(h('p', { class: 'error', role: 'alert' }, err instanceof Error ? err.message : String(err)));
  }
}

/**
 * How the live workers isolate target code, always in view: `bwrap` (isolated), `process` (NOT isolated: limits only),
 * `mixed` or `unknown` (no live worker). Filled in when GET /api/system answers.
 */
function sandboxIndicator(): HTMLElement {
  const holder = h('span', { class: 'sandbox-mode', title: 'sandbox isolation of the live workers' }, 'sandbox: …');
  void api<SystemState>('/system').then(
    (s) => {
      const warnings = s.sandbox.workers.flatMap((w) =>
        Array.isArray(w.sandbox.warnings) ? w.sandbox.warnings.map(String) : [],
      );
      holder.replaceChildren('sandbox: ', badge(s.sandbox.isolation));
      holder.title = [`${s.sandbox.workers.length} live worker(s)`, ...new Set(warnings)].join('\n');
    },
    () => holder.replaceChildren('sandbox: ', badge('unknown')),
  );
  return holder;
}

whenUnauthorized(() => {
  session.clear();
  signIn('The key was refused; sign in again.');
});
window.addEventListener('hashchange', () => void render());

void (async () => {
  config = await loadConsoleConfig();
  if (session.key() === null) return signIn();
  await start().catch(() => signIn());
})();
