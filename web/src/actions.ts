import { ApiError, api, stream } from './api';
import { workflowLink, type PageContext } from './context';
import { append, badge, h, type Child } from './dom';

/** What a start route answers (202): at least the workflow id; the rest (run id, URLs, week) is shown as it comes. */
export interface Started {
  workflowId: string;
  [key: string]: unknown;
}
interface Progress {
  step: string;
  state: string;
  completedSteps: string[];
  detail?: Record<string, unknown>;
}
interface Update {
  status: string;
  progress: Progress | null;
}

/** An API error in plain words, for the start forms' alert region; a 400's per-field problems are listed. */
export function plainError(err: unknown): string {
  if (!(err instanceof ApiError))
    return `The request did not reach the API: ${err instanceof Error ? err.message : String(err)}.`;
  const fields =
    err.details.length > 0
      ? ` (${err.details.map((d) => (d.field && d.field !== '(body)' ? `${d.field}: ${d.message}` : d.message)).join('; ')})`
      : '';
  switch (err.status) {
    case 400:
      return `The API refused the input: ${err.message}${fields}. Correct it and start again.`;
    case 403:
      return `Your key may not do this: ${err.message}. Starting work needs an operator key.`;
    case 404:
      return `Not found: ${err.message}.`;
    case 409:
      return `Not started — it conflicts with what is running: ${err.message}. Wait for it to end (or resume the agent) and try again.`;
    case 429:
      return `Too many requests for now: ${err.message}. Wait a minute and try again.`;
    case 503:
      return `The service is unavailable (Temporal or the database is down): ${err.message}. Try again once it is back.`;
    default:
      return `The API answered ${err.status} (${err.code}): ${err.message}.`;
  }
}

/**
 * A start control: the form's own fields (labelled by the caller), a submit button, an alert region for refusals and,
 * after a 202, the workflow followed live until it ends. For a key below operator only the reason is shown. A refusal
 * keeps every field as typed.
 */
export function startForm(
  ctx: PageContext,
  spec: {
    /** the form's name, for tests and styling (`data-action`) */
    action: string;
    /** the submit button's text, e.g. "Start exam" */
    label: string;
    /** the API path to POST to (under /api), or a function of the form's fields */
    path: string | ((form: FormData) => string);
    /** the request body from the form's fields; undefined for none */
    body?: (form: FormData) => unknown;
    fields?: Child[];
    /** a sentence under the title: what starting does */
    hint?: string;
    /** extra links once the workflow ended (e.g. the exam's page) */
    links?: (started: Started, end: Update) => Child[];
    /** called when the workflow ended (e.g. to refresh a list beside) */
    onEnd?: (started: Started, end: Update) => void;
    /** what the work recorded, read once the workflow ended (e.g. the run's summary), shown under the outcome */
    result?: (started: Started) => Promise<Child>;
  },
): HTMLElement {
  // Below operator the control is replaced by the reason: nothing to click that the API would refuse.
  if (!ctx.can('operator'))
    return h(
      'p',
      { class: 'muted needs-operator', 'data-action': spec.action },
      `${spec.label}: needs an operator key; you are signed in as ${ctx.me.role}.`,
    );
  const button = h('button', { type: 'submit' }, spec.label);
  const alert = h('div', { class: 'start-error', role: 'alert' });
  const result = h('div', { class: 'run-result' });
  let stopFollowing = (): void => undefined;
  const form = h(
    'form',
    { class: 'start-form', 'data-action': spec.action },
    spec.hint ? h('p', { class: 'muted' }, spec.hint) : null,
    h('div', { class: 'fields' }, spec.fields ?? [], button),
    alert,
    result,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const data = new FormData(form);
    alert.replaceChildren();
    button.disabled = true;
    void (async () => {
      try {
        const path = typeof spec.path === 'function' ? spec.path(data) : spec.path;
        const started = await api<Started>(path, { method: 'POST', body: spec.body?.(data) });
        stopFollowing(); // a second start replaces the first one's view: its stream closes with it
        const followed = followWorkflow(ctx, started, spec.links, spec.onEnd, spec.result);
        stopFollowing = followed.stop;
        result.replaceChildren(followed.element);
      } catch (err) {
        alert.textContent = plainError(err);
      } finally {
        button.disabled = false;
      }
    })();
  });
  return form;
}

/**
 * A started workflow: its id linked to the Temporal UI, its progress live over GET /api/workflows/:id/events (step,
 * completed steps, Temporal status) until the `end` event, then its final status and outcome.
 */
export function followWorkflow(
  ctx: PageContext,
  started: Started,
  links?: (s: Started, end: Update) => Child[],
  onEnd?: (s: Started, end: Update) => void,
  result?: (s: Started) => Promise<Child>,
): { element: HTMLElement; stop(): void } {
  const status = h('span', { class: 'wf-status' }, badge('starting'));
  const progress = h(
    'div',
    { class: 'progress', role: 'status', 'aria-live': 'polite' },
    'Waiting for the first progress report…',
  );
  const outcome = h('div', { class: 'outcome' });
  const box = h(
    'div',
    { class: 'card run', 'data-workflow-id': started.workflowId, 'data-state': 'running' },
    h(
      'p',
      {},
      h('strong', {}, 'Started '),
      h('code', { class: 'workflow-id' }, started.workflowId),
      ' · ',
      status,
      ' · ',
      workflowLink(ctx.config, started.workflowId),
    ),
    progress,
    outcome,
  );
  const controller = new AbortController();
  ctx.onLeave(() => controller.abort());
  let ended = false;
  void stream(
    `/workflows/${encodeURIComponent(started.workflowId)}/events`,
    (event, data) => {
      if (ended || (event !== 'progress' && event !== 'end')) return;
      const update = JSON.parse(data) as Update;
      status.replaceChildren(badge(update.status.toLowerCase()));
      fill(progress, progressLine(update));
      if (event === 'end') {
        ended = true;
        controller.abort(); // the server closed the stream; a reconnect would only repeat the end
        box.dataset.state = update.status.toLowerCase();
        const recorded = h('div', { class: 'recorded' });
        fill(
          outcome,
          h('h3', {}, 'Outcome: ', badge(update.status.toLowerCase())),
          detailList(update.progress?.detail),
          recorded,
          h('p', { class: 'links' }, links?.(started, update) ?? []),
        );
        if (result) {
          result(started).then(
            (child) => fill(recorded, child),
            (err: unknown) =>
              fill(
                recorded,
                h(
                  'p',
                  { class: 'muted' },
                  `What it recorded could not be read: ${err instanceof Error ? err.message : String(err)}`,
                ),
              ),
          );
        }
        onEnd?.(started, update);
      }
    },
    controller.signal,
  );
  return { element: box, stop: () => controller.abort() };
}

/** Replaces `el`'s children with `children` (text as text nodes, nothing parsed as HTML). */
export function fill(el: HTMLElement, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

function progressLine(u: Update): Child {
  if (u.progress === null)
    return h('p', { class: 'muted' }, `Temporal status ${u.status}; no worker answered the progress query yet.`);
  const p = u.progress;
  return h(
    'p',
    {},
    h('strong', {}, 'Step: '),
    h('span', { class: 'step', 'data-step': p.step }, p.step),
    ' ',
    badge(p.state),
    p.completedSteps.length > 0 ? ` · done: ${p.completedSteps.join(' → ')}` : '',
  );
}

/**
 * A record as a definition list, field by field: a nested record becomes a nested list (two levels deep, then compact
 * JSON), a list of plain values is joined, a long text (an output tail) is one click away.
 */
export function detailList(
  detail: Record<string, unknown> | null | undefined,
  labels: Record<string, string> = {},
  depth = 0,
): HTMLElement | null {
  if (detail === null || detail === undefined || Object.keys(detail).length === 0) return null;
  return h(
    'dl',
    { class: 'fields-list' },
    Object.entries(detail).map(([k, v]) => [
      h('dt', {}, labels[k] ?? k.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/_/g, ' ')),
      h('dd', { 'data-field': k }, value(v, depth)),
    ]),
  );
}

function value(v: unknown, depth: number): Child {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'boolean') return badge(v ? 'yes' : 'no');
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string')
    return v.length > 160 || v.includes('\n')
      ? h('details', {}, h('summary', {}, `${v.split('\n')[0]?.slice(0, 80) ?? ''}…`), h('pre', { class: 'text' }, v))
      : v;
  if (Array.isArray(v)) {
    if (v.length === 0) return 'none';
    if (v.every((x) => typeof x === 'string' || typeof x === 'number')) return v.join(', ');
    return h(
      'details',
      {},
      h('summary', {}, `${v.length} item(s)`),
      h('pre', { class: 'json' }, JSON.stringify(v, null, 2)),
    );
  }
  if (typeof v === 'object' && depth < 2) return detailList(v as Record<string, unknown>, {}, depth + 1) ?? '—';
  return h('code', {}, JSON.stringify(v));
}

/** A labelled control: `<label>text <control></label>`. */
export function field(text: string, control: HTMLElement): HTMLElement {
  return h('label', { class: 'field' }, `${text} `, control);
}

/** A `<select>` with a first "any" option (value ''). */
export function select(
  name: string,
  options: Array<string | [value: string, text: string]>,
  opts: { value?: string; any?: string } = {},
): HTMLSelectElement {
  return h(
    'select',
    { name },
    opts.any === undefined ? null : h('option', { value: '' }, opts.any),
    options.map((o) => {
      const [value, text] = typeof o === 'string' ? [o, o] : o;
      return h('option', { value, selected: value === opts.value }, text);
    }),
  );
}
