import { request } from 'node:http';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { testConfig } from '../helpers/config';
import { startTestApi, type TestApi } from '../helpers/api';
import { AuditLog } from '../../src/db/entities';

/** The edge of the API (issue 16): what any input, method, encoding or path spelling gets — never a 5xx, always the error shape. */

let db: TestDatabase;
let api: TestApi;
let viewer: string;
let operator: string;
let admin: string;

interface Operation {
  'x-required-role'?: string;
  parameters?: Array<{
    name: string;
    in: 'path' | 'query';
    schema: { type?: string; enum?: unknown[]; format?: string };
  }>;
  requestBody?: {
    content: Record<
      string,
      { schema: { properties?: Record<string, { type?: string | string[]; anyOf?: Array<{ type?: string }> }> } }
    >;
  };
}

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApi(
    testConfig(db.url, { RATE_LIMIT_MAX: '100000', AUTH_FAILURE_LIMIT_MAX: '100000', BODY_LIMIT_BYTES: '2048' }),
  );
  viewer = await api.key('viewer');
  operator = await api.key('operator', 'edge-ops');
  admin = await api.key('admin', 'edge-admin');
});
afterAll(async () => {
  await api.close();
  await db.drop();
});

const errorShape = { error: { code: expect.any(String), message: expect.any(String) } };
const isStringSchema = (
  s: { type?: string | string[]; anyOf?: Array<{ type?: string }>; enum?: unknown[]; format?: string } | undefined,
) =>
  s !== undefined &&
  s.enum === undefined &&
  (s.type === 'string' ||
    (Array.isArray(s.type) && s.type.includes('string')) ||
    (s.anyOf ?? []).some((a) => a.type === 'string'));

describe('a NUL in any string the API accepts', () => {
  it('is a 400 naming the field, for every string query parameter and body field of every operation', async () => {
    const doc = (await api.request('GET', '/api/openapi.json', { key: viewer })).body as {
      paths: Record<string, Record<string, Operation>>;
    };
    const checked: string[] = [];
    const wrong: string[] = [];
    for (const [template, ops] of Object.entries(doc.paths)) {
      if (!template.startsWith('/api/')) continue;
      for (const [method, op] of Object.entries(ops)) {
        // A harmless value for each path parameter: NUL refused in the query or body must be what answers.
        const path = template.replace(/\{([^}]+)\}/g, (_m, name: string) =>
          name === 'scope'
            ? 'global'
            : name === 'agentId'
              ? 'guardian'
              : name === 'id' && template.includes('/agents/')
                ? 'guardian'
                : name === 'id' && template.includes('/findings/')
                  ? '00000000-0000-4000-8000-000000000000'
                  : 'x',
        );
        for (const p of op.parameters ?? []) {
          if (p.in !== 'query' || !isStringSchema(p.schema) || p.schema.format !== undefined) continue;
          const res = await api.request(method.toUpperCase(), `${path}?${p.name}=a%00b`, {
            key: admin,
            body: method === 'get' ? undefined : {},
          });
          checked.push(`${method} ${template} ?${p.name}`);
          const fields = ((res.body as { error?: { details?: Array<{ field: string }> } }).error?.details ?? []).map(
            (d) => d.field,
          );
          if (res.status !== 400 || !fields.includes(p.name))
            wrong.push(`${method} ${template} ?${p.name}: ${res.status} ${res.text.slice(0, 200)}`);
        }
        for (const p of op.parameters ?? []) {
          if (p.in !== 'path') continue;
          const res = await api.request(
            method.toUpperCase(),
            template.replace(`{${p.name}}`, 'a%00b').replace(/\{[^}]+\}/g, 'x'),
            { key: admin, body: method === 'get' ? undefined : {} },
          );
          checked.push(`${method} ${template} :${p.name}`);
          if (res.status >= 500 || (res.status !== 400 && res.status !== 404))
            wrong.push(`${method} ${template} :${p.name}: ${res.status} ${res.text.slice(0, 200)}`);
        }
        const properties = op.requestBody?.content['application/json']?.schema.properties ?? {};
        for (const [field, schema] of Object.entries(properties)) {
          if (!isStringSchema(schema)) continue;
          const res = await api.request(method.toUpperCase(), path, {
            key: admin,
            body: { [field]: 'http://a.example/\u0000' },
          });
          checked.push(`${method} ${template} body.${field}`);
          const fields = ((res.body as { error?: { details?: Array<{ field: string }> } }).error?.details ?? []).map(
            (d) => d.field,
          );
          if (res.status !== 400 || !fields.includes(field))
            wrong.push(`${method} ${template} body.${field}: ${res.status} ${res.text.slice(0, 200)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    // The document's string inputs, as the fuzzer found them (issue 16) and more: a floor, so a generator change cannot empty this test.
    expect(checked).toEqual(
      expect.arrayContaining([
        'get /api/imperium/knowledge ?q',
        'get /api/guardian/findings ?tool',
        'get /api/conquest/performance ?measure',
        'get /api/token-usage/events ?workflowId',
        'put /api/settings/webhook body.secret',
        'post /api/proposals/{id}/review body.comment',
      ]),
    );
    expect(checked.length).toBeGreaterThan(30);
  });
});

describe('request bodies', () => {
  const post = (headers: Record<string, string>, body: Buffer | string) =>
    fetch(`${api.url}/api/agents/guardian/pause`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body,
    });

  it('decodes a gzip body, and answers a corrupt gzip or brotli body 400 and an unknown encoding 415, in the error shape', async () => {
    const ok = await post(
      { Authorization: `Bearer ${operator}`, 'Content-Encoding': 'gzip' },
      gzipSync(JSON.stringify({ reason: 'zipped' })),
    );
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ statusReason: 'zipped' });
    for (const encoding of ['gzip', 'br', 'deflate']) {
      const res = await post(
        { Authorization: `Bearer ${operator}`, 'Content-Encoding': encoding },
        'not compressed at all',
      );
      expect([encoding, res.status, await res.json()]).toEqual([
        encoding,
        400,
        { error: { code: 'invalid_body', message: expect.stringContaining(encoding) } },
      ]);
    }
    const unknown = await post({ Authorization: `Bearer ${operator}`, 'Content-Encoding': 'compress' }, 'x');
    expect([unknown.status, await unknown.json()]).toEqual([
      415,
      { error: { code: 'unsupported_encoding', message: expect.stringContaining('compress') } },
    ]);
  });

  it('is not read before the key is checked: 401 without a key, 403 below the role, whatever the body', async () => {
    for (const [headers, body] of [
      [{ 'Content-Encoding': 'gzip' }, 'corrupt'],
      [{}, '{oops'],
      [{}, JSON.stringify({ reason: 'x'.repeat(5000) })],
    ] as const) {
      const res = await post(headers, body);
      expect([res.status, await res.json()]).toEqual([
        401,
        { error: { code: 'unauthorized', message: 'missing or invalid API key' } },
      ]);
      const low = await post({ ...headers, Authorization: `Bearer ${viewer}` }, body);
      expect([low.status, ((await low.json()) as { error: { code: string } }).error.code]).toEqual([403, 'forbidden']);
    }
    const tooLarge = await post({ Authorization: `Bearer ${operator}` }, JSON.stringify({ reason: 'x'.repeat(5000) }));
    expect(tooLarge.status).toBe(413);
  });

  it('answers a caller without a key at once, without waiting for (reading) the body it announced', async () => {
    // 2000 bytes announced (under the limit), 10 sent: a server that reads bodies before the key check waits for the rest.
    const status = await new Promise<number | 'no answer'>((resolve, reject) => {
      const req = request(
        `${api.url}/api/agents/guardian/pause`,
        { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': '2000' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write('{"reason":');
      setTimeout(() => {
        resolve('no answer');
        req.destroy();
      }, 3000).unref();
    });
    expect(status).toBe(401);
  });

  it('answers a malformed body 400 on a route that does not read it, instead of acting', async () => {
    const res = await api.request('POST', '/api/notifications/read-all', { key: operator, body: '{oops' });
    expect([res.status, res.body]).toEqual([
      400,
      { error: { code: 'invalid_json', message: 'request body is not valid JSON' } },
    ]);
  });
});

describe('methods', () => {
  it('answers a method a path does not serve, or one served nowhere (PROPFIND), 405 in the error shape with Allow', async () => {
    for (const method of ['DELETE', 'PUT', 'PROPFIND']) {
      const res = await api.request(method, '/api/agents', { key: viewer });
      expect([method, res.status, res.body]).toEqual([
        method,
        405,
        { error: { code: 'method_not_allowed', message: expect.stringContaining('GET') } },
      ]);
      expect(res.headers.get('allow')).toContain('GET');
      expect(res.headers.get('content-type')).toContain('application/json');
    }
  });
});

describe('requests the HTTP parser refuses', () => {
  const raw = (request: string) =>
    new Promise<string>((resolve, reject) => {
      const url = new URL(api.url);
      const socket = connect(Number(url.port), url.hostname, () => socket.write(request));
      let answer = '';
      socket.on('data', (d: Buffer) => (answer += d.toString()));
      socket.on('end', () => resolve(answer));
      socket.on('error', reject);
    });

  it('answers an unknown method or oversized headers in the error shape, not with a bare text reply', async () => {
    const unknown = await raw('FOO /api/agents HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(unknown).toMatch(
      /^HTTP\/1\.1 400 .*Content-Type: application\/json.*\{"error":\{"code":"bad_request","message":"unknown HTTP method"\}\}$/s,
    );
    const huge = await raw(`GET /api/agents HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(huge).toMatch(/^HTTP\/1\.1 431 .*"code":"headers_too_large"/s);
  });
});

describe('event streams', () => {
  it('answers HEAD on a stream with its headers at once instead of holding the connection unanswered', async () => {
    const res = await fetch(`${api.url}/api/notifications/stream`, {
      method: 'HEAD',
      headers: { Authorization: `Bearer ${viewer}` },
      signal: AbortSignal.timeout(3000),
    });
    expect([res.status, res.headers.get('content-type')]).toEqual([200, 'text/event-stream; charset=utf-8']);
  });
});

describe('the /api guard', () => {
  it('matches /api case-insensitively, as the router does: no key is a 401, a key is checked, audited and answered', async () => {
    for (const path of ['/API/agents', '/Api/agents', '/aPi/agents/guardian']) {
      const res = await api.request('GET', path, {});
      expect([path, res.status, res.body]).toEqual([
        path,
        401,
        { error: { code: 'unauthorized', message: 'missing or invalid API key' } },
      ]);
    }
    expect((await api.request('GET', '/API/agents', { key: viewer })).status).toBe(200);
    const refused = await api.request('POST', '/API/agents/guardian/pause', { key: viewer });
    expect(refused.status).toBe(403);
    const row = await api.orm.em.fork().findOne(AuditLog, { path: '/API/agents/guardian/pause' });
    expect(row).toMatchObject({ method: 'POST', status: 403, actorRole: 'viewer' });
  });
});

describe('the audit log', () => {
  it('records failed authentications with the key prefix only, malformed JSON, and 403s', async () => {
    const wrongKey = 'lvl_notarealkeybutlongenoughtoshow0123456789';
    expect(
      (await api.request('GET', '/api/agents', { key: wrongKey, headers: { 'X-Request-Id': 'edge-failed-auth' } }))
        .status,
    ).toBe(401);
    const failed = await api.orm.em.fork().findOneOrFail(AuditLog, { requestId: 'edge-failed-auth' });
    expect(failed).toMatchObject({ status: 401, method: 'GET', keyPrefix: wrongKey.slice(0, 10), actorKeyId: null });
    expect(JSON.stringify(failed)).not.toContain(wrongKey.slice(0, 16));

    await api.request('POST', '/api/agents/guardian/pause', {
      key: operator,
      body: '{oops',
      headers: { 'X-Request-Id': 'edge-malformed' },
    });
    expect(await api.orm.em.fork().findOne(AuditLog, { requestId: 'edge-malformed' })).toMatchObject({
      status: 400,
      actorName: 'edge-ops',
      keyPrefix: operator.slice(0, 10),
    });

    await api.request('GET', '/api/audit', { key: operator, headers: { 'X-Request-Id': 'edge-forbidden-read' } });
    expect(await api.orm.em.fork().findOne(AuditLog, { requestId: 'edge-forbidden-read' })).toMatchObject({
      status: 403,
      method: 'GET',
    });
  });

  it('is read through GET /api/audit (admin only), newest first, paginated and filtered', async () => {
    for (const key of [viewer, operator]) expect((await api.request('GET', '/api/audit', { key })).status).toBe(403);
    await api.request('POST', '/api/agents/imperium/pause', { key: operator, body: { reason: 'audit read' } });
    await api.request('POST', '/api/agents/imperium/resume', { key: operator });
    const all = await api.request('GET', '/api/audit?limit=2', { key: admin });
    expect(all.status).toBe(200);
    const body = all.body as {
      items: Array<{ id: string; at: string; method: string; path: string; status: number; actorName: string | null }>;
      page: { limit: number; offset: number; total: number };
    };
    expect(body.page).toMatchObject({ limit: 2, offset: 0 });
    expect(body.page.total).toBeGreaterThan(2);
    expect(Number(body.items[0]?.id)).toBeGreaterThan(Number(body.items[1]?.id));

    const filtered = await api.request(
      'GET',
      '/api/audit?actor=edge-ops&path=/api/agents/imperium&method=post&status=200',
      { key: admin },
    );
    expect((filtered.body as typeof body).items.map((i) => i.path)).toEqual([
      '/api/agents/imperium/resume',
      '/api/agents/imperium/pause',
    ]);
    const byPrefix = await api.request('GET', `/api/audit?keyPrefix=${encodeURIComponent('lvl_notare')}&status=401`, {
      key: admin,
    });
    expect((byPrefix.body as typeof body).items.length).toBeGreaterThan(0);
    const future = await api.request(
      'GET',
      `/api/audit?from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`,
      { key: admin },
    );
    expect((future.body as typeof body).page.total).toBe(0);
    const bad = await api.request('GET', '/api/audit?status=abc&path=%00', { key: admin });
    expect([bad.status, bad.body]).toEqual([
      400,
      { error: { ...errorShape.error, details: expect.arrayContaining([expect.objectContaining({ field: 'path' })]) } },
    ]);
  });
});
