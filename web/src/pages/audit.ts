import { api, type Page } from '../api';
import type { PageContext } from '../context';
import { badge, fmtDate, h, table } from '../dom';
import { pager } from './pager';

interface AuditEntry {
  id: string;
  at: string;
  actorName: string | null;
  actorRole: string | null;
  keyPrefix: string | null;
  method: string;
  path: string;
  action: string;
  target: string | null;
  status: number;
  ip: string | null;
  requestId: string;
}

const FILTERS = ['actor', 'keyPrefix', 'method', 'path', 'status', 'from', 'to'] as const;
type Filter = (typeof FILTERS)[number];
const LABELS: Record<Filter, [label: string, hint: string]> = {
  actor: ['Key name', 'exact name'],
  keyPrefix: ['Key prefix', 'e.g. lvl_ab'],
  method: ['Method', ''],
  path: ['Path prefix', 'e.g. /api/proposals'],
  status: ['Status', 'e.g. 401'],
  from: ['From', 'at or after (your local time)'],
  to: ['To', 'before (your local time)'],
};
const METHODS = ['', 'POST', 'PUT', 'PATCH', 'DELETE', 'GET'];

/** An ISO instant from a datetime-local value (the browser's time zone), and back. */
const toIso = (local: string): string => (local === '' ? '' : new Date(local).toISOString());
const toLocal = (iso: string | null): string => {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};

/**
 * The audit log (admin): mutating calls and refusals, newest first, filtered by every filter GET /api/audit has: key
 * name, key prefix, method, path prefix, status and a time range.
 */
export async function auditPage(ctx: PageContext): Promise<HTMLElement> {
  if (!ctx.can('admin'))
    return h('section', {}, h('h1', {}, 'Audit log'), h('p', { class: 'muted' }, 'The audit log needs an admin key.'));
  const filters = new URLSearchParams();
  for (const f of FILTERS) {
    const v = ctx.query.get(f);
    if (v) filters.set(f, v);
  }
  const q = new URLSearchParams(filters);
  q.set('limit', '50');
  q.set('offset', ctx.query.get('offset') ?? '0');
  const data = await api<Page<AuditEntry>>(`/audit?${q.toString()}`);
  const controls = FILTERS.map((f) => {
    if (f === 'method')
      return h(
        'select',
        { name: f },
        METHODS.map((m) =>
          h('option', { value: m, selected: (filters.get(f) ?? '').toUpperCase() === m }, m === '' ? 'any' : m),
        ),
      );
    if (f === 'from' || f === 'to')
      return h('input', { type: 'datetime-local', name: f, value: toLocal(filters.get(f)) });
    return h('input', {
      type: f === 'status' ? 'number' : 'text',
      name: f,
      value: filters.get(f) ?? '',
      placeholder: LABELS[f][1],
      size: f === 'path' ? 22 : f === 'status' ? 6 : 12,
      min: f === 'status' ? 100 : null,
      max: f === 'status' ? 599 : null,
    });
  });
  const form = h(
    'form',
    { class: 'filters audit-filters', 'aria-label': 'Filter the audit log' },
    controls.map((c, i) => {
      const f = FILTERS[i] as Filter;
      c.id = `audit-${f}`;
      return h('div', { class: 'field' }, h('label', { for: c.id }, LABELS[f][0]), c);
    }),
    h(
      'div',
      { class: 'field' },
      h('button', { type: 'submit' }, 'Filter'),
      filters.size > 0 ? h('a', { href: '#/audit' }, 'clear') : null,
    ),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    for (const c of controls) {
      const value = c.value.trim();
      if (value !== '') next.set(c.name, c.name === 'from' || c.name === 'to' ? toIso(value) : value);
    }
    location.hash = `#/audit?${next.toString()}`;
  });
  const empty =
    filters.size > 0
      ? 'No entry matches these filters.'
      : 'No entry yet: every mutating call (start, pause, review, budget) and every refused key is recorded here as it happens.';
  return h(
    'section',
    {},
    h('h1', {}, 'Audit log'),
    form,
    table(
      ['when', 'who', 'action', 'target', 'status', 'from', 'request'],
      data.items.map((a) => [
        fmtDate(a.at),
        a.actorName ? `${a.actorName} (${a.actorRole ?? '?'})` : a.keyPrefix ? `unknown key ${a.keyPrefix}…` : 'no key',
        h('span', { title: `${a.method} ${a.path}` }, a.action),
        a.target ?? '—',
        badge(String(a.status)),
        a.ip ?? '—',
        h('code', {}, a.requestId),
      ]),
      empty,
    ),
    pager('#/audit', data.page, filters),
  );
}
