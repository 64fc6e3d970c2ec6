import http from 'node:http';
import type { AddressInfo } from 'node:net';
import helmet from 'helmet';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { testConfig } from '../helpers/config';
import { startTestApi, type TestApi } from '../helpers/api';
import { AuditLog } from '../../src/db/entities';

let db: TestDatabase;
let api: TestApi;
let viewer: string;
let operator: string;

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApi(
    testConfig(db.url, { RATE_LIMIT_MAX: '1000', BODY_LIMIT_BYTES: '2048', CORS_ORIGINS: 'https://console.example' }),
  );
  viewer = await api.key('viewer');
  operator = await api.key('operator', 'ops');
});
afterAll(async () => {
  await api.close();
  await db.drop();
});

describe('auth', () => {
  it('answers 401 without a key, with a wrong key, and on unknown /api routes', async () => {
    for (const [path, key] of [
      ['/api/agents', undefined],
      ['/api/agents', 'lvl_wrong'],
      ['/api/nope', undefined],
    ] as const) {
      const res = await api.request('GET', path, { key });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: { code: 'unauthorized', message: 'missing or invalid API key' } });
    }
  });

  it('answers 403 when the role is too low and 200 for the right one', async () => {
    const denied = await api.request('POST', '/api/agents/sandbox/pause', { key: viewer });
    expect(denied.status).toBe(403);
    const allowed = await api.request('POST', '/api/agents/sandbox/pause', {
      key: operator,
      body: { reason: 'maintenance' },
    });
    expect(allowed.status).toBe(200);
    expect(allowed.body).toMatchObject({ id: 'sandbox', status: 'paused', statusReason: 'maintenance' });
  });

  it('writes an audit row for every mutating call, refused or not', async () => {
    await api.request('POST', '/api/agents/conquest/pause', { key: viewer });
    await api.request('POST', '/api/agents/conquest/resume', { key: operator });
    const rows = await api.orm.em.fork().find(AuditLog, { target: 'agent:conquest' }, { orderBy: { id: 'asc' } });
    const viewerRow = await api.orm.em
      .fork()
      .findOne(AuditLog, { action: 'POST /api/agents/:id/pause', status: 403, target: 'conquest' });
    expect(viewerRow).toMatchObject({ actorRole: 'viewer', method: 'POST' });
    expect(rows.map((r) => [r.actorName, r.action, r.status])).toEqual([['ops', 'POST /api/agents/:id/resume', 200]]);
  });
});

describe('agents', () => {
  it('lists the four seeded agents with level, rank and skill ratings', async () => {
    const res = await api.request('GET', '/api/agents', { key: viewer });
    expect(res.status).toBe(200);
    const body = res.body as {
      items: Array<{ id: string; level: number; rank: string; skillRatings: object }>;
      page: object;
    };
    expect(body.items.map((a) => a.id).sort()).toEqual(['conquest', 'guardian', 'imperium', 'sandbox']);
    expect(body.items.every((a) => a.level === 1 && a.rank === 'Recruit')).toBe(true);
    expect(body.page).toEqual({ limit: 50, offset: 0, total: 4 });
    expect(body.items.find((a) => a.id === 'guardian')?.skillRatings).toHaveProperty('security_awareness.rating', 1200);
  });

  it('reads one agent and 404s an unknown one', async () => {
    expect((await api.request('GET', '/api/agents/imperium', { key: viewer })).body).toMatchObject({
      id: 'imperium',
      xp: 0,
    });
    const missing = await api.request('GET', '/api/agents/nobody', { key: viewer });
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: { code: 'not_found', message: 'agent "nobody" not found' } });
  });

  it('pauses and resumes idempotently', async () => {
    await api.request('POST', '/api/agents/imperium/pause', { key: operator });
    const again = await api.request('POST', '/api/agents/imperium/pause', { key: operator });
    expect(again.body).toMatchObject({ status: 'paused' });
    const resumed = await api.request('POST', '/api/agents/imperium/resume', { key: operator });
    expect(resumed.body).toMatchObject({ status: 'active' });
  });
});

describe('input and limits', () => {
  it('names the invalid field in a 400 and never sends a stack trace', async () => {
    const res = await api.request('GET', '/api/agents?limit=500', { key: viewer });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'invalid_request', details: [{ field: 'limit' }] } });
    const unknownField = await api.request('POST', '/api/agents/guardian/pause', {
      key: operator,
      body: { reasn: 'x' },
    });
    expect(unknownField.status).toBe(400);
    const malformed = await api.request('POST', '/api/agents/guardian/pause', { key: operator, body: '{oops' });
    expect(malformed.body).toEqual({ error: { code: 'invalid_json', message: 'request body is not valid JSON' } });
    expect(res.text + unknownField.text + malformed.text).not.toMatch(/at .*\.ts:\d+/);
  });

  it('answers 413 for a body over the limit', async () => {
    const res = await api.request('POST', '/api/agents/guardian/pause', {
      key: operator,
      body: { reason: 'x'.repeat(5000) },
    });
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ error: { code: 'payload_too_large', message: 'request body is too large' } });
  });

  it('sends security headers and CORS only to allowed origins', async () => {
    const allowed = await api.request('GET', '/healthz', { headers: { Origin: 'https://console.example' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://console.example');
    expect(allowed.headers.get('x-content-type-options')).toBe('nosniff');
    const other = await api.request('GET', '/healthz', { headers: { Origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    // Every header helmet itself sets on a plain Node response, with its value (they are worked out once at startup).
    const reference = http.createServer((req, res) => helmet()(req, res, () => res.end('ok')));
    await new Promise<void>((resolve) => reference.listen(0, '127.0.0.1', resolve));
    try {
      const helmetHeaders = (await fetch(`http://127.0.0.1:${(reference.address() as AddressInfo).port}/`)).headers;
      const expected = [...helmetHeaders].filter(
        ([name]) => !['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'].includes(name),
      );
      expect(expected.length).toBeGreaterThan(8);
      for (const res of [allowed, await api.request('GET', '/api/agents', { key: viewer })])
        expect(expected.filter(([name, value]) => res.headers.get(name) !== value)).toEqual([]);
    } finally {
      reference.close();
    }
  });

  it('exposes request metrics by route template', async () => {
    await api.request('GET', '/api/agents/guardian', { key: viewer });
    const metrics = await api.request('GET', '/metrics');
    expect(metrics.text).toMatch(/http_requests_total\{method="GET",route="\/api\/agents\/:id",status="200"\} \d+/);
    expect(metrics.text).toContain('http_request_duration_seconds_bucket');
  });
});

it('stops accepting a revoked key within the 5 s verification cache', async () => {
  const key = await api.key('viewer', 'short-lived');
  expect((await api.request('GET', '/api/agents', { key })).status).toBe(200);
  const { ApiKey } = await import('../../src/db/entities');
  await api.orm.em.fork().nativeUpdate(ApiKey, { name: 'short-lived' }, { revokedAt: new Date() });
  await new Promise((r) => setTimeout(r, 5_100));
  expect((await api.request('GET', '/api/agents', { key })).status).toBe(401);
});
