/** The console's only way to the server: the public API with the signed-in key (kept in sessionStorage, never in a URL). */
const KEY = 'lvlup.apiKey';

export type Role = 'viewer' | 'operator' | 'admin';
export interface Me {
  name: string;
  role: Role;
}
/** GET /api/system: dependencies, the live workers' sandbox, the LLM providers configured. */
export interface SystemState {
  database: 'up' | 'down';
  temporal: 'up' | 'down';
  sandbox: { isolation: string; workers: Array<{ identity: string; sandbox: Record<string, unknown> }> };
  llm: { providers: string[] };
}
export interface ConsoleConfig {
  temporalUiUrl: string | null;
  temporalUiPort: number;
  namespace: string;
}
export interface Page<T> {
  items: T[];
  page: { limit: number; offset: number; total: number };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** the API's per-field problems of a 400 (`{ field, message }`), else empty */
    readonly details: Array<{ field: string; message: string }> = [],
  ) {
    super(message);
  }
}

export const session = {
  key: (): string | null => sessionStorage.getItem(KEY),
  set: (key: string): void => sessionStorage.setItem(KEY, key),
  clear: (): void => sessionStorage.removeItem(KEY),
};

/** Called on a 401: the key was revoked or mistyped. */
let onUnauthorized: () => void = () => undefined;
export function whenUnauthorized(fn: () => void): void {
  onUnauthorized = fn;
}

/** Calls `/api<path>` with the key; answers the parsed JSON or throws ApiError with the API's error code and message. */
export async function api<T>(
  path: string,
  init: { method?: string; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  const headers: Record<string, string> = { Authorization: `Bearer ${session.key() ?? ''}` };
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`/api${path}`, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: init.signal,
  });
  const body: unknown = res.headers.get('Content-Type')?.includes('json') ? await res.json() : await res.text();
  if (!res.ok) {
    const error = (body as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
    if (res.status === 401) onUnauthorized();
    const details = Array.isArray(error?.details)
      ? (error.details as Array<{ field?: unknown; message?: unknown }>)
          .filter((d) => typeof d?.message === 'string')
          .map((d) => ({ field: String(d.field ?? ''), message: String(d.message) }))
      : [];
    throw new ApiError(res.status, error?.code ?? 'error', error?.message ?? `HTTP ${res.status}`, details);
  }
  return body as T;
}

export async function loadConsoleConfig(): Promise<ConsoleConfig> {
  const res = await fetch('/console-config.json');
  return (await res.json()) as ConsoleConfig;
}

/**
 * Reads a Server-Sent Events stream with fetch (EventSource cannot send the Authorization header) and calls `onEvent`
 * for each event until `signal` aborts. Reconnects after a drop, resuming after the last event id.
 */
export async function stream(
  path: string,
  onEvent: (event: string, data: string, id: string | null) => void,
  signal: AbortSignal,
): Promise<void> {
  let lastId: string | null = null;
  while (!signal.aborted) {
    try {
      const headers: Record<string, string> = {
        Authorization: `Bearer ${session.key() ?? ''}`,
        Accept: 'text/event-stream',
      };
      if (lastId !== null) headers['Last-Event-ID'] = lastId;
      const res = await fetch(`/api${path}`, { headers, signal });
      if (res.status === 401) return onUnauthorized();
      if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          let id: string | null = null;
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('id:')) id = line.slice(3).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          }
          if (id !== null) lastId = id;
          if (data.length > 0) onEvent(event, data.join('\n'), id);
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      console.warn('stream dropped, reconnecting', err);
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}
