import { api, type Page } from '../api';
import type { PageContext } from '../context';
import { badge, fmtDate, h, json, table } from '../dom';
import { pager } from './pager';

interface Finding {
  id: string;
  agentId: string;
  kind: string;
  tool: string;
  rule: string;
  severity: string;
  title: string;
  message: string;
  file: string | null;
  line: number | null;
  status: string;
  triage: unknown;
  lastSeenAt: string;
  dismissReason: string | null;
}

/** Guardian's (and the other agents') findings, open first by default; operators may dismiss one with a reason. */
export async function findingsPage(ctx: PageContext): Promise<HTMLElement> {
  const status = ctx.query.get('status') ?? 'open';
  const severity = ctx.query.get('severity') ?? '';
  const q = new URLSearchParams({ limit: '25', offset: ctx.query.get('offset') ?? '0' });
  if (status !== '') q.set('status', status);
  if (severity !== '') q.set('severity', severity);
  const data = await api<Page<Finding>>(`/guardian/findings?${q.toString()}`);
  const link = (s: string, v: string, text: string) =>
    h(
      'a',
      {
        href: `#/findings?${new URLSearchParams({ status: s, severity: v }).toString()}`,
        class: s === status && v === severity ? 'active' : null,
      },
      text,
    );
  const dismiss = async (f: Finding) => {
    const reason = prompt(`Dismiss "${f.title}"? Reason:`);
    if (!reason) return;
    await api(`/guardian/findings/${f.id}/dismiss`, { method: 'POST', body: { reason } });
    ctx.reload();
  };
  return h(
    'section',
    {},
    h('h1', {}, 'Findings'),
    h(
      'p',
      { class: 'filters' },
      ['open', 'dismissed', 'resolved', ''].map((s) => link(s, severity, s || 'any status')),
      ' | ',
      ['', 'critical', 'high', 'medium', 'low'].map((v) => link(status, v, v || 'any severity')),
    ),
    table(
      ['severity', 'title', 'where', 'tool / rule', 'status', 'last seen', ''],
      data.items.map((f) => [
        badge(f.severity),
        h(
          'details',
          {},
          h('summary', {}, f.title),
          h('p', {}, f.message),
          f.triage ? json(f.triage) : null,
          f.dismissReason ? h('p', {}, `Dismissed: ${f.dismissReason}`) : null,
        ),
        f.file ? `${f.file}${f.line ? `:${f.line}` : ''}` : '—',
        `${f.tool} / ${f.rule}`,
        badge(f.status),
        fmtDate(f.lastSeenAt),
        f.status === 'open' && ctx.can('operator')
          ? h('button', { type: 'button', class: 'small', onclick: () => void dismiss(f) }, 'Dismiss')
          : '',
      ]),
    ),
    pager('#/findings', data.page, new URLSearchParams({ status, severity })),
  );
}
