import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Fake OpenAI and Anthropic servers on loopback that speak the real wire formats, so the official SDKs run end to
 * end in tests. Each test scripts the replies: by a marker in the prompt (`when`), by a queue (`enqueue`), or by a
 * handler (`respond`); anything unscripted gets a short text answer (or, for a structured request, a 500 saying
 * that nothing was scripted, so a forgotten script fails loudly instead of passing by accident).
 */

export type FakeReply =
  /** A structured answer: OpenAI message content (serialised), Anthropic tool_use input. */
  | { json: unknown; usage?: FakeUsage; delayMs?: number }
  /** A plain text answer (for a structured request: text that may or may not be JSON). */
  | { text: string; usage?: FakeUsage; delayMs?: number }
  /** An HTTP error with the provider's error body; `retryAfter` in seconds (or an HTTP date) as the header. */
  | { status: number; retryAfter?: number | string; code?: string; message?: string; delayMs?: number }
  /** Never answers (until the server closes): a hang past the client's timeout. */
  | { hang: true }
  /** Holds the request open until `until` settles, then answers with the reply it gives (a call in flight, released). */
  | { until: Promise<FakeReply> }
  /** A 200 whose body is not valid JSON. */
  | { rawBody: string };

export interface FakeUsage {
  input: number;
  output: number;
}

export interface FakeRequest {
  path: string;
  model: string;
  /** Every message's text, system prompt included, joined by newlines: what markers are matched against. */
  prompt: string;
  body: Record<string, unknown>;
  /** The JSON schema asked for (OpenAI response_format or Anthropic tool input_schema), if any. */
  schema: unknown;
  receivedAt: number;
  /** When the client closed the connection before the server answered (an aborted request), else undefined. */
  abortedAt?: number;
  /** When the server's answer was sent in full (a held request answered only at its release), else undefined. */
  answeredAt?: number;
}

export interface FakeLlmServer {
  /** Base URL for the SDK: `OPENAI_BASE_URL` (ends in /v1) or `ANTHROPIC_BASE_URL`. */
  readonly url: string;
  readonly requests: FakeRequest[];
  /** Requests whose prompt contains `marker` get `reply` (a function may vary it per request). */
  when(marker: string, reply: FakeReply | ((req: FakeRequest) => FakeReply)): void;
  /** The next unmatched requests get these replies, in order. */
  enqueue(...replies: FakeReply[]): void;
  /** Replaces the default answer for requests no marker or queue entry matches. */
  respond(handler: (req: FakeRequest) => FakeReply): void;
  /** Forgets scripts and recorded requests. */
  reset(): void;
  close(): Promise<void>;
}

type Flavor = 'openai' | 'anthropic';

export function startFakeOpenAI(): Promise<FakeLlmServer> {
  return startFake('openai');
}

export function startFakeAnthropic(): Promise<FakeLlmServer> {
  return startFake('anthropic');
}

async function startFake(flavor: Flavor): Promise<FakeLlmServer> {
  const endpoint = flavor === 'openai' ? '/v1/chat/completions' : '/v1/messages';
  let rules: Array<{ marker: string; reply: FakeReply | ((req: FakeRequest) => FakeReply) }> = [];
  let queue: FakeReply[] = [];
  let fallback: ((req: FakeRequest) => FakeReply) | undefined;
  const requests: FakeRequest[] = [];

  const pick = (req: FakeRequest): FakeReply => {
    const rule = rules.find((r) => req.prompt.includes(r.marker));
    if (rule !== undefined) return typeof rule.reply === 'function' ? rule.reply(req) : rule.reply;
    const queued = queue.shift();
    if (queued !== undefined) return queued;
    if (fallback !== undefined) return fallback(req);
    return req.schema === undefined
      ? { text: 'fake answer' }
      : { status: 500, message: 'fake server: no reply scripted for this structured request' };
  };

  const server = http.createServer((httpReq, res) => {
    const chunks: Buffer[] = [];
    httpReq.on('data', (c: Buffer) => chunks.push(c));
    httpReq.on('end', () => {
      if (httpReq.method !== 'POST' || httpReq.url !== endpoint) {
        send(res, 404, {
          error: { type: 'not_found_error', message: `fake ${flavor}: no route ${httpReq.method} ${httpReq.url}` },
        });
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      const req = describe(flavor, httpReq.url, body);
      requests.push(req);
      res.on('close', () => {
        if (!res.writableFinished) req.abortedAt = Date.now();
      });
      res.on('finish', () => (req.answeredAt = Date.now()));
      answer(flavor, res, req, pick(req));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: flavor === 'openai' ? `http://127.0.0.1:${port}/v1` : `http://127.0.0.1:${port}`,
    requests,
    when: (marker, reply) => rules.push({ marker, reply }),
    enqueue: (...replies) => queue.push(...replies),
    respond: (handler) => {
      fallback = handler;
    },
    reset: () => {
      rules = [];
      queue = [];
      fallback = undefined;
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function describe(flavor: Flavor, path: string, body: Record<string, unknown>): FakeRequest {
  const messages = (body.messages as Array<{ content: unknown }> | undefined) ?? [];
  const texts = messages.map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content)));
  if (flavor === 'anthropic' && typeof body.system === 'string') texts.unshift(body.system);
  let schema: unknown;
  if (flavor === 'openai') {
    schema = (body.response_format as { json_schema?: { schema?: unknown } } | undefined)?.json_schema?.schema;
  } else {
    schema = (body.tools as Array<{ input_schema?: unknown }> | undefined)?.[0]?.input_schema;
  }
  return { path, model: String(body.model), prompt: texts.join('\n'), body, schema, receivedAt: Date.now() };
}

function answer(flavor: Flavor, res: http.ServerResponse, req: FakeRequest, reply: FakeReply): void {
  if ('hang' in reply) return; // the socket stays open until the client gives up or the server closes
  if ('until' in reply) {
    // Answered when released; a client that went away meanwhile (its worker killed) just never reads it.
    void reply.until.then((later) => answer(flavor, res, req, later));
    return;
  }
  if ('rawBody' in reply) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(reply.rawBody);
    return;
  }
  if ('status' in reply) {
    const headers: Record<string, string> = {};
    if (reply.retryAfter !== undefined) headers['retry-after'] = String(reply.retryAfter);
    const type =
      reply.status === 429 ? 'rate_limit_error' : reply.status >= 500 ? 'api_error' : 'invalid_request_error';
    const message = reply.message ?? `fake ${flavor} error ${reply.status}`;
    const body =
      flavor === 'openai'
        ? { error: { message, type, code: reply.code ?? null, param: null } }
        : { type: 'error', error: { type, message } };
    later(reply.delayMs, () => send(res, reply.status, body, headers));
    return;
  }
  const text = 'json' in reply ? JSON.stringify(reply.json) : reply.text;
  const usage = reply.usage ?? { input: Math.ceil(req.prompt.length / 4), output: Math.ceil(text.length / 4) };
  const body = flavor === 'openai' ? openAiBody(req, text, usage) : anthropicBody(req, reply, text, usage);
  later(reply.delayMs, () => send(res, 200, body));
}

function later(delayMs: number | undefined, fn: () => void): void {
  if (delayMs === undefined) fn();
  else setTimeout(fn, delayMs);
}

function openAiBody(req: FakeRequest, text: string, usage: FakeUsage) {
  return {
    id: `chatcmpl-fake-${Date.now()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: req.model,
    choices: [
      { index: 0, message: { role: 'assistant', content: text, refusal: null }, finish_reason: 'stop', logprobs: null },
    ],
    usage: { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output },
  };
}

function anthropicBody(req: FakeRequest, reply: FakeReply, text: string, usage: FakeUsage) {
  const toolName = (req.body.tools as Array<{ name: string }> | undefined)?.[0]?.name;
  const structured = 'json' in reply && toolName !== undefined;
  return {
    id: `msg_fake_${Date.now()}`,
    type: 'message',
    role: 'assistant',
    model: req.model,
    content: structured
      ? [{ type: 'tool_use', id: 'toolu_fake', name: toolName, input: reply.json }]
      : [{ type: 'text', text }],
    stop_reason: structured ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: usage.input, output_tokens: usage.output },
  };
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}
