import { ApiError, api, type Page } from '../api';
import { workflowLink, type PageContext } from '../context';
import { badge, fmtDate, h, json, table } from '../dom';
import { unifiedDiff } from '../diff';
import { pager } from './pager';

/** Mirrors PROPOSAL_STATES (src/db/entities/proposal.entity.ts, which the browser cannot import). */
const STATES = ['drafting', 'validating', 'testing', 'reviewing', 'awaiting_review', 'applying', 'applied', 'rejected', 'expired', 'invalid', 'failed_tests', 'blocked', 'ineligible', 'apply_failed', 'failed'];
const AGENTS = ['imperium', 'guardian', 'sandbox', 'conquest'];

interface ProposalSummary {
  id: string;
  workflowId: string;
  agentId: string;
  title: string | null;
  goal: string | null;
  status: string;
  changedFiles: string[];
  changedLines: number | null;
  branch: string | null;
  commit: string | null;
  /** Guardian's model review: null before Guardian reviewed the proposal */
  guardianModelReview: 'passed' | 'concerns' | 'unavailable' | null;
  guardianModelReviewReason: string | null;
  createdAt: string;
}
interface Proposal extends ProposalSummary {
  rationale: string | null;
  risk: string | null;
  diff: string | null;
  drafts: number;
  baseCommit: string | null;
  eligibility: unknown;
  validation: unknown;
  tests: unknown;
  guardianReview: unknown;
  review: { decision: string; reviewer: string; comment?: string | null } | null;
  error: string | null;
  timeline: Array<{ seq: number; state: string; detail: string | null; at: string }>;
}

/** The inbox: filter by status and agent (awaiting review first by default). */
export async function proposalsPage(ctx: PageContext): Promise<HTMLElement> {
  const status = ctx.query.get('status') ?? 'awaiting_review';
  const agent = ctx.query.get('agent') ?? '';
  const filters = new URLSearchParams({ status, agent });
  const q = new URLSearchParams({ limit: '25', offset: ctx.query.get('offset') ?? '0' });
  if (status !== '') q.set('status', status);
  if (agent !== '') q.set('agent', agent);
  const data = await api<Page<ProposalSummary>>(`/proposals?${q.toString()}`);
  const select = (name: string, value: string, options: string[], all: string) =>
    h('select', { name, 'aria-label': name }, h('option', { value: '' }, all), options.map((o) => h('option', { value: o, selected: o === value }, o)));
  const form = h('form', { class: 'filters' }, select('status', status, STATES, 'any status'), select('agent', agent, AGENTS, 'any agent'), h('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = new FormData(form);
    location.hash = `#/proposals?${new URLSearchParams({ status: String(f.get('status') ?? ''), agent: String(f.get('agent') ?? '') }).toString()}`;
  });
  return h(
    'section',
    {},
    h('h1', {}, 'Proposals'),
    form,
    table(
      ['created', 'agent', 'title', 'status', 'model review', 'changed', 'workflow'],
      data.items.map((p) => [fmtDate(p.createdAt), p.agentId, h('a', { href: `#/proposals/${p.id}`, class: 'proposal-link' }, p.title ?? p.goal ?? p.id), badge(p.status), p.guardianModelReview ? badge(p.guardianModelReview) : '—', `${p.changedFiles.length} files, ${p.changedLines ?? 0} lines`, workflowLink(ctx.config, p.workflowId)]),
      'No proposals match.',
    ),
    pager('#/proposals', data.page, filters),
  );
}

/** One proposal: the diff, every stage's report, the timeline, and the review form for operators while it awaits review. */
export async function proposalPage(ctx: PageContext): Promise<HTMLElement> {
  const p = await api<Proposal>(`/proposals/${encodeURIComponent(ctx.params[0] ?? '')}`);
  const report = (title: string, value: unknown) => (value === null || value === undefined ? null : h('details', { class: 'report', open: true }, h('summary', {}, title), json(value)));
  return h(
    'section',
    { class: 'proposal', 'data-status': p.status },
    h('p', {}, h('a', { href: '#/proposals' }, '← Proposals')),
    h('h1', {}, p.title ?? p.goal ?? p.id, ' ', h('span', { class: 'proposal-status' }, badge(p.status))),
    h('p', {}, `${p.agentId} · ${p.drafts} draft(s) · base ${p.baseCommit?.slice(0, 10) ?? '—'}`, p.branch ? ` · branch ${p.branch}` : '', p.commit ? ` · commit ${p.commit.slice(0, 10)}` : '', ' · ', workflowLink(ctx.config, p.workflowId)),
    p.error ? h('p', { class: 'error' }, p.error) : null,
    modelReview(p),
    p.rationale ? h('p', {}, h('strong', {}, 'Rationale: '), p.rationale) : null,
    p.risk ? h('p', {}, h('strong', {}, 'Risk: '), p.risk) : null,
    p.status === 'awaiting_review' && ctx.can('operator') ? reviewForm(ctx, p) : null,
    p.review ? h('p', { class: 'review' }, h('strong', {}, `${p.review.decision === 'approve' ? 'Approved' : 'Rejected'} by ${p.review.reviewer}`), p.review.comment ? `: ${p.review.comment}` : '') : null,
    h('h2', {}, 'Diff'),
    p.diff ? unifiedDiff(p.diff) : h('p', { class: 'muted' }, 'No diff yet.'),
    h('h2', {}, 'Pipeline'),
    report('Validation', p.validation),
    report('Tests', p.tests),
    report("Guardian's review", p.guardianReview),
    report('Eligibility', p.eligibility),
    h('h2', {}, 'Timeline'),
    h('ol', { class: 'timeline' }, p.timeline.map((t) => h('li', {}, badge(t.state), ` ${fmtDate(t.at)}`, t.detail ? ` — ${t.detail}` : ''))),
  );
}

/** What Guardian's model made of the diff; a review that never happened is said plainly, never shown as a pass. */
function modelReview(p: Proposal): HTMLElement | null {
  if (p.guardianModelReview === null) return null;
  const text = {
    passed: ' — no concerns.',
    concerns: ' — it raised concerns, none blocking (see Guardian\'s review below).',
    unavailable: ` — the review never happened: ${p.guardianModelReviewReason ?? 'no reason recorded'}. Review the diff yourself.`,
  }[p.guardianModelReview];
  const cls = p.guardianModelReview === 'unavailable' ? 'model-review warn' : 'model-review';
  return h('p', { class: cls, 'data-state': p.guardianModelReview }, h('strong', {}, "Guardian's model review: "), badge(p.guardianModelReview), text);
}

function reviewForm(ctx: PageContext, p: Proposal): HTMLElement {
  const comment = h('textarea', { name: 'comment', rows: 3, maxlength: 5000, placeholder: 'Comment for the agent (becomes a knowledge note)', 'aria-label': 'comment' });
  const status = h('p', { class: 'muted', role: 'status' });
  const buttons: HTMLButtonElement[] = [];
  const decide = async (decision: 'approve' | 'reject') => {
    for (const b of buttons) b.disabled = true;
    status.textContent = decision === 'approve' ? 'Approving and applying…' : 'Rejecting…';
    try {
      const body: { decision: string; comment?: string } = { decision };
      if (comment.value.trim() !== '') body.comment = comment.value.trim();
      await api(`/proposals/${p.id}/review`, { method: 'POST', body });
      ctx.reload();
    } catch (err) {
      status.textContent = err instanceof ApiError ? `${err.code}: ${err.message}` : String(err);
      status.className = 'error';
      for (const b of buttons) b.disabled = false;
    }
  };
  buttons.push(h('button', { type: 'button', class: 'approve', onclick: () => void decide('approve') }, 'Approve'), h('button', { type: 'button', class: 'reject danger', onclick: () => void decide('reject') }, 'Reject'));
  return h('div', { class: 'card review-form' }, h('h2', {}, 'Review'), comment, h('div', { class: 'actions' }, buttons), status);
}
