import { field, startForm } from '../actions';
import { api, stream, type Page } from '../api';
import { notificationsChanged } from '../unread';
import type { PageContext } from '../context';
import { badge, fmtDate, h } from '../dom';

interface Notification {
  id: string;
  seq: number;
  kind: string;
  title: string;
  message: string;
  priority: string;
  read: boolean;
  createdAt: string;
}

/** The latest notifications, then new ones live over the SSE stream for as long as the page is open. */
export async function notificationsPage(ctx: PageContext): Promise<HTMLElement> {
  const { items } = await api<Page<Notification>>('/notifications?limit=50');
  const list = h('ul', { class: 'notifications' });
  const live = h('span', { class: 'live', role: 'status' }, 'connecting…');
  const item = (n: Notification): HTMLElement => {
    const li = h(
      'li',
      { class: n.read ? 'read' : 'unread', 'data-seq': n.seq },
      badge(n.priority),
      ' ',
      h('strong', {}, n.title),
      ` · ${n.kind} · ${fmtDate(n.createdAt)}`,
      h('p', {}, n.message),
    );
    if (!n.read && ctx.can('operator')) {
      li.append(
        h(
          'button',
          {
            type: 'button',
            class: 'small',
            onclick: async () => {
              await api(`/notifications/${n.id}/read`, { method: 'POST' });
              notificationsChanged();
              li.className = 'read';
              li.querySelector('button')?.remove();
            },
          },
          'Mark read',
        ),
      );
    }
    return li;
  };
  for (const n of items) list.append(item(n));
  const controller = new AbortController();
  ctx.onLeave(() => controller.abort());
  live.textContent = '● live';
  void stream(
    '/notifications/stream',
    (event, data) => {
      if (event !== 'notification') return;
      const n = JSON.parse(data) as Notification;
      if (list.querySelector(`[data-seq="${n.seq}"]`) === null) list.prepend(item(n));
    },
    controller.signal,
  );
  const readAll = ctx.can('operator')
    ? h(
        'button',
        {
          type: 'button',
          onclick: async () => {
            await api('/notifications/read-all', { method: 'POST' });
            notificationsChanged();
            ctx.reload();
          },
        },
        'Mark all read',
      )
    : null;
  return h(
    'section',
    {},
    h('h1', {}, 'Notifications ', live, ' ', readAll),
    weeklyReportCard(ctx),
    items.length === 0
      ? h(
          'p',
          { class: 'muted empty-state' },
          'None yet; new ones appear here as they come — a finished scan, a failed exam, a proposal awaiting review. Start work from the Exams, Scans, Experiments, Analyses or Cycles page, or generate a weekly report above.',
        )
      : null,
    list,
  );
}

/**
 * "Generate weekly report" (POST /api/reports/weekly): the week that has just ended, or the week of a given Monday;
 * the report arrives as a `weekly_report` notification in the list below when the workflow ends.
 */
function weeklyReportCard(ctx: PageContext): HTMLElement {
  const week = h('input', { type: 'date', name: 'weekStart' });
  return h(
    'details',
    { class: 'card start-card' },
    h('summary', {}, 'Generate weekly report'),
    startForm(ctx, {
      action: 'weekly-report',
      label: 'Generate weekly report',
      path: '/reports/weekly',
      hint: "The week's exams, levels, findings, proposals and token spend in one report, stored as a notification. Leave the week empty for the week that has just ended.",
      body: (f) => {
        const weekStart = String(f.get('weekStart') ?? '');
        return weekStart === '' ? {} : { weekStart };
      },
      fields: [field('Week starting (a Monday, optional)', week)],
    }),
  );
}
