import { ApiError } from './api';
import { h } from './dom';

/** The API's field errors of a 400 (`details: [{ field, message }]`), keyed by field. */
export function fieldErrors(err: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (!(err instanceof ApiError) || !Array.isArray(err.details)) return out;
  for (const d of err.details as Array<{ field?: unknown; message?: unknown }>) {
    if (typeof d.field === 'string' && typeof d.message === 'string') out.set(d.field, d.message);
  }
  return out;
}

/** An error from an action in plain words: what happened and, where there is one, what to do about it. */
export function plainError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 400) return `Not accepted: ${err.message}.`;
    if (err.status === 403)
      return 'Your key’s role is not allowed to do this; ask an admin for a key with the role it needs.';
    if (err.status === 404) return `Not found: ${err.message}.`;
    if (err.status === 409) return `Refused: ${err.message}.`;
    if (err.status === 429) return 'Too many requests from this key: wait a moment and try again.';
    if (err.status === 503) return `The service is unavailable (${err.message}); try again shortly.`;
    if (err.status >= 500)
      return `The server failed (${err.status}: ${err.message}). Try again; if it keeps failing, the API logs say why.`;
    return `${err.message} (HTTP ${err.status}).`;
  }
  if (err instanceof TypeError) return 'The API could not be reached: check the connection and try again.';
  return err instanceof Error ? err.message : String(err);
}

/** A live region for an action's outcome: `done` (role=status) or `failed` (role=alert), replacing what it said before. */
export function outcome(): { el: HTMLElement; done(text: string): void; failed(err: unknown): void; clear(): void } {
  const el = h('div', { class: 'outcome' });
  return {
    el,
    done: (text) => el.replaceChildren(h('p', { class: 'ok', role: 'status' }, text)),
    failed: (err) => el.replaceChildren(h('p', { class: 'error', role: 'alert' }, plainError(err))),
    clear: () => el.replaceChildren(),
  };
}

/** A labelled form field: the label wraps its text and the control, with a hint and an error line tied by aria-describedby. */
export function field(
  label: string,
  control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
  hint?: string,
): { el: HTMLElement; setError(message: string | null): void } {
  const id = `f-${control.name}-${Math.random().toString(36).slice(2, 8)}`;
  const hintEl = hint ? h('span', { class: 'hint', id: `${id}-hint` }, hint) : null;
  const errorEl = h('span', { class: 'error field-error', id: `${id}-error` });
  control.id = id;
  control.setAttribute('aria-describedby', [hintEl ? `${id}-hint` : '', `${id}-error`].filter(Boolean).join(' '));
  const el = h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl, errorEl);
  return {
    el,
    setError: (message) => {
      errorEl.textContent = message ?? '';
      if (message) control.setAttribute('aria-invalid', 'true');
      else control.removeAttribute('aria-invalid');
    },
  };
}

/** "every 1 h 30 min" from seconds. */
export function every(seconds: number): string {
  const parts: string[] = [];
  const d = Math.floor(seconds / 86_400);
  const hr = Math.floor((seconds % 86_400) / 3600);
  const min = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (d) parts.push(`${d} d`);
  if (hr) parts.push(`${hr} h`);
  if (min) parts.push(`${min} min`);
  if (s) parts.push(`${s} s`);
  return `every ${parts.join(' ') || '0 s'}`;
}
