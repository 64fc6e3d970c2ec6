import { every, field, outcome } from '../forms';
import { api } from '../api';
import { workflowLink, type PageContext } from '../context';
import { badge, fmtDate, h } from '../dom';

interface Schedule {
  id: string;
  workflowType: string;
  intervalSeconds: number | null;
  calendar: { dayOfWeek: string; hour: number; minute: number } | null;
  note: string;
  exists: boolean;
  paused: boolean | null;
  pauseNote: string | null;
  nextRuns: string[];
  recentRuns: Array<{ at: string; workflowId: string }>;
}

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * The recurring workflows (viewer): each with its state, next and recent runs. An operator pauses one with a note,
 * unpauses it, or triggers a run now; the list is read again after each action, and the outcome is announced.
 */
export async function schedulesPage(ctx: PageContext): Promise<HTMLElement> {
  const status = outcome();
  const list = h('div', { class: 'schedules' });
  const section = h(
    'section',
    {},
    h('h1', {}, 'Schedules'),
    h(
      'p',
      { class: 'muted' },
      'The recurring workflows Temporal starts on its own. Pausing one stops its future runs (a run in progress goes on); “Trigger now” starts one run at once.',
    ),
    status.el,
    list,
  );

  const act = async (
    s: Schedule,
    action: 'pause' | 'unpause' | 'trigger',
    reason: string,
    button: HTMLButtonElement,
  ): Promise<void> => {
    button.disabled = true;
    status.clear();
    try {
      await api(`/schedules/${encodeURIComponent(s.id)}/${action}`, {
        method: 'POST',
        body: reason === '' ? {} : { reason },
      });
      await show();
      const said = {
        pause: `Paused ${s.id}${reason ? ` (“${reason}”)` : ''}: it starts no run until it is unpaused.`,
        unpause: `Unpaused ${s.id}: its next run is at its usual time.`,
        trigger: `Triggered ${s.id}: a run was started now.`,
      };
      status.done(said[action]);
    } catch (err) {
      status.failed(err);
      button.disabled = false;
    }
  };

  const card = (s: Schedule): HTMLElement => {
    const when =
      s.intervalSeconds !== null
        ? every(s.intervalSeconds)
        : s.calendar
          ? `${s.calendar.dayOfWeek.toLowerCase()}s at ${pad(s.calendar.hour)}:${pad(s.calendar.minute)} UTC`
          : '—';
    const state = !s.exists ? 'missing' : s.paused ? 'paused' : 'active';
    let controls: HTMLElement | null = null;
    if (s.exists && ctx.can('operator')) {
      const note = h('input', {
        type: 'text',
        name: 'reason',
        maxlength: 500,
        size: 40,
        placeholder: 'why (kept with the schedule)',
      });
      const noteField = field(
        `Note for ${s.id}`,
        note,
        s.paused ? 'Optional, for the unpause.' : 'Optional: why it is paused, shown to everyone.',
      );
      const toggle = h(
        'button',
        { type: 'submit', class: s.paused ? 'unpause' : 'pause danger' },
        s.paused ? 'Unpause' : 'Pause',
      );
      const trigger = h(
        'button',
        { type: 'button', class: 'trigger', onclick: () => void act(s, 'trigger', '', trigger) },
        'Trigger now',
      );
      const form = h('form', { class: 'actions', 'aria-label': `Act on ${s.id}` }, noteField.el, toggle, trigger);
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        void act(s, s.paused ? 'unpause' : 'pause', note.value.trim(), toggle);
      });
      controls = form;
    }
    return h(
      'article',
      { class: 'card schedule', 'data-schedule': s.id, 'data-state': state },
      h('header', {}, h('h2', {}, s.id), badge(state === 'missing' ? 'not created' : state)),
      h('p', {}, s.note, h('br'), h('span', { class: 'muted' }, `${s.workflowType}, ${when}`)),
      !s.exists
        ? h('p', { class: 'warn' }, 'Not created yet: a worker creates every schedule when it starts (npm run worker).')
        : null,
      s.paused ? h('p', { class: 'pause-note' }, h('strong', {}, 'Paused: '), s.pauseNote ?? 'no note') : null,
      h(
        'div',
        { class: 'runs' },
        h(
          'div',
          {},
          h('h3', {}, 'Next runs'),
          s.paused
            ? h('p', { class: 'muted' }, 'None while paused.')
            : s.nextRuns.length === 0
              ? h('p', { class: 'muted' }, '—')
              : h(
                  'ul',
                  { class: 'next' },
                  s.nextRuns.map((t) => h('li', {}, fmtDate(t))),
                ),
        ),
        h(
          'div',
          {},
          h('h3', {}, 'Recent runs'),
          s.recentRuns.length === 0
            ? h('p', { class: 'muted' }, 'None yet.')
            : h(
                'ul',
                { class: 'recent' },
                [...s.recentRuns]
                  .reverse()
                  .map((r) => h('li', {}, fmtDate(r.at), ' · ', workflowLink(ctx.config, r.workflowId))),
              ),
        ),
      ),
      controls,
    );
  };

  const show = async (): Promise<void> => {
    const { items } = await api<{ items: Schedule[] }>('/schedules');
    if (items.every((s) => !s.exists)) {
      list.replaceChildren(
        h(
          'div',
          { class: 'empty' },
          h('p', {}, 'No schedule exists in Temporal yet.'),
          h(
            'p',
            { class: 'muted' },
            'Start a worker (npm run worker, or the worker container): it creates every schedule at start, and they appear here with their next runs.',
          ),
        ),
        ...items.map(card),
      );
    } else list.replaceChildren(...items.map(card));
  };
  await show();
  return section;
}
