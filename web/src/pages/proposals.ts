import { ApiError, api, type Page } from '../api';
import { workflowLink, type PageContext } from '../context';
import { badge, fmtDate, fmtNum, h, table, type Child } from '../dom';
import { unifiedDiff } from '../diff';
import { pager } from './pager';

/** Mirrors PROPOSAL_STATES (src/db/entities/proposal.entity.ts, which the browser cannot import). */
const STATES = [
  'drafting',
  'validating',
  'testing',
  'reviewing',
  'awaiting_review',
  'applying',
  'applied',
  'rejected',
  'expired',
  'invalid',
  'failed_tests',
  'blocked',
  'ineligible',
  'apply_failed',
  'failed',
];
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
  eligibility: Eligibility | null;
  validation: Validation | null;
  tests: Tests | null;
  guardianReview: GuardianReview | null;
  review: { decision: string; reviewer: string; comment?: string | null } | null;
  error: string | null;
  timeline: Array<{ seq: number; state: string; detail: string | null; at: string }>;
}

/* The pipeline's reports as the proposal activities store them (activities/proposals/*); every field optional, since
   rows written by older versions may lack some. */
interface Validation {
  ok?: boolean;
  problems?: string[];
  draft?: number;
  files?: string[];
  changedLines?: number;
  diffHash?: string;
}
interface Tests {
  ok?: boolean;
  draft?: number;
  tests?: {
    ok?: boolean;
    exitCode?: number | null;
    timedOut?: boolean;
    tests?: number | null;
    pass?: number | null;
    fail?: number | null;
    skip?: number | null;
    runner?: string;
    isolation?: string;
    durationMs?: number;
    outputTail?: string;
  };
  setup?: {
    manager?: string;
    command?: string;
    cacheHit?: boolean;
    durationMs?: number;
    network?: boolean;
    note?: string;
  };
}
interface GuardianReview {
  scan?: {
    newFindings?: Array<{
      tool?: string;
      rule?: string;
      severity?: string;
      title?: string;
      message?: string;
      file?: string | null;
      line?: number | null;
    }>;
    tools?: Array<{ tool?: string; status?: string }>;
  };
  model?: {
    summary?: string;
    concerns?: Array<{ severity?: string; file?: string | null; message?: string }>;
    provider?: string;
    model?: string;
    unavailable?: string;
  };
  modelReview?: string;
  modelReviewReason?: string | null;
  blocked?: boolean;
  reasons?: string[];
}
interface Eligibility {
  eligible?: boolean;
  reasons?: string[];
  checks?: Array<{ rule?: string; ok?: boolean; detail?: string }>;
  openProposals?: number | null;
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
    h(
      'select',
      { name, 'aria-label': name },
      h('option', { value: '' }, all),
      options.map((o) => h('option', { value: o, selected: o === value }, o)),
    );
  const form = h(
    'form',
    { class: 'filters' },
    select('status', status, STATES, 'any status'),
    select('agent', agent, AGENTS, 'any agent'),
    h('button', { type: 'submit' }, 'Filter'),
  );
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
      data.items.map((p) => [
        fmtDate(p.createdAt),
        p.agentId,
        h('a', { href: `#/proposals/${p.id}`, class: 'proposal-link' }, p.title ?? p.goal ?? p.id),
        badge(p.status),
        p.guardianModelReview ? badge(p.guardianModelReview) : '—',
        `${p.changedFiles.length} files, ${p.changedLines ?? 0} lines`,
        workflowLink(ctx.config, p.workflowId),
      ]),
      'No proposals match.',
    ),
    pager('#/proposals', data.page, filters),
  );
}

/** One proposal: the diff, every stage's report, the timeline, and the review form for operators while it awaits review. */
export async function proposalPage(ctx: PageContext): Promise<HTMLElement> {
  const p = await api<Proposal>(`/proposals/${encodeURIComponent(ctx.params[0] ?? '')}`);
  return h(
    'section',
    { class: 'proposal', 'data-status': p.status },
    h('p', {}, h('a', { href: '#/proposals' }, '← Proposals')),
    h('h1', {}, p.title ?? p.goal ?? p.id, ' ', h('span', { class: 'proposal-status' }, badge(p.status))),
    h(
      'p',
      {},
      `${p.agentId} · ${p.drafts} draft(s) · base ${p.baseCommit?.slice(0, 10) ?? '—'}`,
      p.branch ? ` · branch ${p.branch}` : '',
      p.commit ? ` · commit ${p.commit.slice(0, 10)}` : '',
      ' · ',
      workflowLink(ctx.config, p.workflowId),
    ),
    p.error ? h('p', { class: 'error' }, p.error) : null,
    modelReview(p),
    p.rationale ? h('p', {}, h('strong', {}, 'Rationale: '), p.rationale) : null,
    p.risk ? h('p', {}, h('strong', {}, 'Risk: '), p.risk) : null,
    p.status === 'awaiting_review' && ctx.can('operator') ? reviewForm(ctx, p) : null,
    p.review
      ? h(
          'p',
          { class: 'review' },
          h('strong', {}, `${p.review.decision === 'approve' ? 'Approved' : 'Rejected'} by ${p.review.reviewer}`),
          p.review.comment ? `: ${p.review.comment}` : '',
        )
      : null,
    h('h2', {}, 'Diff'),
    p.diff ? unifiedDiff(p.diff) : h('p', { class: 'muted' }, 'No diff yet.'),
    h('h2', {}, 'Pipeline'),
    p.validation || p.tests || p.guardianReview || p.eligibility
      ? null
      : h('p', { class: 'muted' }, 'No stage has reported yet.'),
    validationReport(p.validation),
    testsReport(p.tests),
    guardianReport(p.guardianReview),
    eligibilityReport(p.eligibility),
    h('h2', {}, 'Timeline'),
    h(
      'ol',
      { class: 'timeline' },
      p.timeline.map((t) => h('li', {}, badge(t.state), ` ${fmtDate(t.at)}`, t.detail ? ` — ${t.detail}` : '')),
    ),
  );
}

/** What Guardian's model made of the diff; a review that never happened is said plainly, never shown as a pass. */
function modelReview(p: Proposal): HTMLElement | null {
  if (p.guardianModelReview === null) return null;
  const text = {
    passed: ' — no concerns.',
    concerns: " — it raised concerns, none blocking (see Guardian's review below).",
    unavailable: ` — the review never happened: ${p.guardianModelReviewReason ?? 'no reason recorded'}. Review the diff yourself.`,
  }[p.guardianModelReview];
  const cls = p.guardianModelReview === 'unavailable' ? 'model-review warn' : 'model-review';
  return h(
    'p',
    { class: cls, 'data-state': p.guardianModelReview },
    h('strong', {}, "Guardian's model review: "),
    badge(p.guardianModelReview),
    text,
  );
}

/** A pass/fail badge for a boolean check (absent: unknown). */
function passFail(ok: boolean | undefined, yes = 'passed', no = 'failed'): HTMLElement {
  return ok === undefined ? badge('unknown') : badge(ok ? yes : no);
}

/** A definition list of labelled values; a row whose value is null or undefined is left out. */
function dl(rows: Array<[label: string, value: Child | undefined]>): HTMLElement {
  return h(
    'dl',
    { class: 'fields-list' },
    rows.filter(([, v]) => v !== undefined && v !== null).map(([label, v]) => [h('dt', {}, label), h('dd', {}, v)]),
  );
}

function stage(name: string, title: string, ok: boolean | undefined, ...body: Child[]): HTMLElement {
  return h(
    'section',
    { class: 'card report', 'data-report': name, 'data-ok': ok === undefined ? 'unknown' : String(ok) },
    h('h3', {}, title, ' ', passFail(ok)),
    body,
  );
}

/** Validation: the diff parses, stays in the repository, is small enough, applies, and is no duplicate. */
function validationReport(v: Validation | null): HTMLElement | null {
  if (v === null) return null;
  return stage(
    'validation',
    'Validation',
    v.ok,
    dl([
      ['Draft', v.draft],
      [
        'Changed files',
        v.files &&
          (v.files.length === 0
            ? 'none'
            : h(
                'ul',
                { class: 'plain' },
                v.files.map((f) => h('li', {}, h('code', {}, f))),
              )),
      ],
      ['Changed lines', v.changedLines],
      [
        'Problems',
        v.problems &&
          (v.problems.length === 0
            ? 'none'
            : h(
                'ul',
                { class: 'problems' },
                v.problems.map((x) => h('li', { class: 'error' }, x)),
              )),
      ],
    ]),
  );
}

/** The target's tests with the draft applied, in the sandbox. */
function testsReport(t: Tests | null): HTMLElement | null {
  if (t === null) return null;
  const r = t.tests ?? {};
  const setup = t.setup;
  return stage(
    'tests',
    'Tests',
    t.ok,
    dl([
      ['Draft', t.draft],
      ['Tests', r.tests === undefined ? undefined : fmtNum(r.tests)],
      ['Passed', r.pass === undefined ? undefined : fmtNum(r.pass)],
      [
        'Failed',
        r.fail === undefined ? undefined : h('span', { class: (r.fail ?? 0) > 0 ? 'error' : null }, fmtNum(r.fail)),
      ],
      ['Skipped', r.skip === undefined ? undefined : fmtNum(r.skip)],
      ['Exit code', r.exitCode === undefined ? undefined : r.exitCode === null ? '— (killed)' : String(r.exitCode)],
      ['Timed out', r.timedOut === undefined ? undefined : r.timedOut ? h('span', { class: 'error' }, 'yes') : 'no'],
      ['Runner', r.runner],
      ['Sandbox', r.isolation && badge(r.isolation)],
      ['Duration', r.durationMs === undefined ? undefined : `${fmtNum(r.durationMs / 1000, 1)} s`],
      [
        'Install',
        setup &&
          (setup.manager === 'none'
            ? `no install${setup.note ? `: ${setup.note}` : ''}`
            : `${setup.command ?? setup.manager ?? '?'}: ${setup.cacheHit ? 'cache hit' : 'installed'}${setup.durationMs === undefined ? '' : ` in ${fmtNum(setup.durationMs)} ms`}`),
      ],
    ]),
    r.outputTail
      ? h('details', {}, h('summary', {}, 'Output (tail)'), h('pre', { class: 'text' }, r.outputTail))
      : null,
  );
}

/** Guardian's review: its tools on the changed code (new findings), its model's reading of the diff, and the verdict. */
function guardianReport(g: GuardianReview | null): HTMLElement | null {
  if (g === null) return null;
  const findings = g.scan?.newFindings ?? [];
  const model = g.model;
  return stage(
    'guardian',
    "Guardian's review",
    g.blocked === undefined ? undefined : !g.blocked,
    dl([
      ['Verdict', g.blocked === undefined ? 'pending' : g.blocked ? badge('blocked') : badge('not blocked')],
      [
        'Reasons',
        g.reasons &&
          (g.reasons.length === 0
            ? 'none'
            : h(
                'ul',
                { class: 'problems' },
                g.reasons.map((x) => h('li', {}, x)),
              )),
      ],
      [
        'Tools',
        g.scan?.tools &&
          h(
            'span',
            {},
            g.scan.tools.map((t) => [h('code', {}, t.tool ?? '?'), ' ', badge(t.status), ' ']),
          ),
      ],
      ['New findings', g.scan && (findings.length === 0 ? 'none' : String(findings.length))],
      ['Model review', g.modelReview && badge(g.modelReview)],
      ['Model', model && !model.unavailable && model.provider ? `${model.provider}:${model.model ?? '?'}` : undefined],
      ['Summary', model?.summary],
      ['Why no review', model?.unavailable],
    ]),
    findings.length > 0
      ? table(
          ['severity', 'tool', 'rule', 'where', 'finding'],
          findings.map((f) => [
            badge(f.severity),
            f.tool ?? '—',
            f.rule ?? '—',
            f.file ? `${f.file}${f.line ? `:${f.line}` : ''}` : '—',
            f.title ?? f.message ?? '—',
          ]),
        )
      : null,
    model?.concerns && model.concerns.length > 0
      ? h(
          'div',
          { class: 'concerns' },
          h('h4', {}, 'Concerns'),
          table(
            ['severity', 'file', 'concern'],
            model.concerns.map((c) => [badge(c.severity), c.file ?? '—', c.message ?? '—']),
          ),
        )
      : null,
  );
}

const RULES: Record<string, string> = {
  active: 'Agent active',
  recent_pass: 'Recent exam pass',
  consecutive_failures: 'Consecutive failures',
  open_proposals: 'Open proposals',
};

/** Eligibility: whether the agent could propose when the pipeline began, rule by rule. */
function eligibilityReport(e: Eligibility | null): HTMLElement | null {
  if (e === null) return null;
  return stage(
    'eligibility',
    'Eligibility',
    e.eligible,
    dl([
      ['Eligible', passFail(e.eligible, 'eligible', 'ineligible')],
      ['Open proposals', e.openProposals ?? undefined],
      [
        'Reasons',
        e.reasons &&
          h(
            'ul',
            { class: 'plain' },
            e.reasons.map((x) => h('li', {}, x)),
          ),
      ],
    ]),
    e.checks && e.checks.length > 0
      ? table(
          ['rule', 'result', 'detail'],
          e.checks.map((c) => [RULES[c.rule ?? ''] ?? c.rule ?? '—', passFail(c.ok, 'ok', 'failed'), c.detail ?? '—']),
        )
      : null,
  );
}

function reviewForm(ctx: PageContext, p: Proposal): HTMLElement {
  const comment = h('textarea', {
    name: 'comment',
    rows: 3,
    maxlength: 5000,
    placeholder: 'Comment for the agent (becomes a knowledge note)',
    'aria-label': 'comment',
  });
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
  buttons.push(
    h('button', { type: 'button', class: 'approve', onclick: () => void decide('approve') }, 'Approve'),
    h('button', { type: 'button', class: 'reject danger', onclick: () => void decide('reject') }, 'Reject'),
  );
  return h(
    'div',
    { class: 'card review-form' },
    h('h2', {}, 'Review'),
    comment,
    h('div', { class: 'actions' }, buttons),
    status,
  );
}
