/** One message of an event stream: an event (`event`, `data`, maybe `id`) or a comment line (`: ping`). */
export interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

export interface SseClient {
  status: number;
  headers: Headers;
  /** A refused stream's (non-2xx) JSON error body; undefined for an open stream. */
  errorBody?: unknown;
  /** The next message; null once the server has ended the stream. Throws when none comes within `timeoutMs`. */
  next(timeoutMs?: number): Promise<SseMessage | null>;
  /** The next event (comments skipped), with its `data` parsed as JSON; null once the stream has ended. */
  nextEvent(timeoutMs?: number): Promise<{ id?: string; event?: string; data: unknown } | null>;
  /** Disconnects, as a browser closing the page would. */
  close(): void;
}

/** Opens `url` as an EventSource would (Node's fetch, read as a stream) and parses what arrives. */
export async function connectSse(
  url: string,
  opts: { key?: string; headers?: Record<string, string> } = {},
): Promise<SseClient> {
  const abort = new AbortController();
  const headers: Record<string, string> = { Accept: 'text/event-stream', ...opts.headers };
  if (opts.key !== undefined) headers.Authorization = `Bearer ${opts.key}`;
  const res = await fetch(url, { headers, signal: abort.signal });
  const errorBody = res.ok ? undefined : ((await res.json().catch(() => null)) as unknown);
  const queue: SseMessage[] = [];
  const waiters: Array<() => void> = [];
  let ended = false;
  const wake = () => waiters.splice(0).forEach((w) => w());

  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      if (res.body === null) return;
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          queue.push(parseBlock(buffer.slice(0, end)));
          buffer = buffer.slice(end + 2);
          wake();
        }
      }
    } catch {
      // aborted by close()
    } finally {
      ended = true;
      wake();
    }
  })();

  const next = async (timeoutMs = 10_000): Promise<SseMessage | null> => {
    const deadline = Date.now() + timeoutMs;
    while (queue.length === 0 && !ended) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no event-stream message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return queue.shift() ?? null;
  };

  return {
    status: res.status,
    headers: res.headers,
    errorBody,
    next,
    nextEvent: async (timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const message = await next(Math.max(1, deadline - Date.now()));
        if (message === null) return null;
        if (message.event !== undefined || message.data !== undefined)
          return {
            id: message.id,
            event: message.event,
            data: message.data === undefined ? undefined : JSON.parse(message.data),
          };
      }
    },
    close: () => abort.abort(),
  };
}

function parseBlock(block: string): SseMessage {
  const message: SseMessage = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) {
      message.comment = line.slice(1).trim();
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') message.data = message.data === undefined ? value : `${message.data}\n${value}`;
    else if (field === 'id' || field === 'event') message[field] = value;
  }
  return message;
}
