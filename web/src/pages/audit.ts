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

const FILTERS = ['actor', 'keyPrefix', 'method', 'path', 'status'] as const;

/** The audit log (admin): mutating calls and refusals, newest first, filtered by key name, key prefix, method, path prefix, status. */
export async function auditPage(ctx: PageContext): Promise<HTMLElement> {
  if (!ctx.can('admin')) return h('section', {}, h('h1', {}, 'Audit log'), h('p', { class: 'muted' }, 'The audit log needs an admin key.'));
  const filters = new URLSearchParams();
  for (const f of FILTERS) {
    const v = ctx.query.get(f);
    if (v) filters.set(f, v);
  }
  const q = new URLSearchParams(filters);
  q.set('limit', '50');
  q.set('offset', ctx.query.get('offset') ?? '0');
  const data = await api<Page<AuditEntry>>(`/audit?${q.toString()}`);
  const inputs = FILTERS.map((f) => h('input', { name: f, value: filters.get(f) ?? '', placeholder: f === 'path' ? '/api/proposals' : f, 'aria-label': f, size: f === 'path' ? 24 : 10 }));
  const form = h('form', { class: 'filters' }, inputs, h('button', { type: 'submit', class: 'small' }, 'Filter'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    for (const input of inputs) if (input.value.trim() !== '') next.set(input.name, input.value.trim());
    location.hash = `#/audit?${next.toString()}`;
  });
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
        h('span', { title: a.path }, a.action),
        a.target ?? '—',
        badge(String(a.status)),
        a.ip ?? '—',
        h('code', {}, a.requestId),
      ]),
    ),
    pager('#/audit', data.page, filters),
  );
}
