import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { notificationPollersRunning } from '../../src/api/routes/notifications/feed';
import { Notification, type NotificationKind } from '../../src/db/entities';
import { createNotification } from '../../src/notifications/create';
import { startTestApi, type TestApi } from '../helpers/api';
import { testConfig } from '../helpers/config';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { connectSse, type SseClient } from '../helpers/sse';

let db: TestDatabase;
let api: TestApi;
let viewer: string;
let operator: string;
const clients: SseClient[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  // Many streams come and go with this one key (a closed one frees its slot only once the server sees it go).
  api = await startTestApi(
    testConfig(db.url, { RATE_LIMIT_MAX: '10000', SSE_HEARTBEAT_MS: '200', SSE_MAX_STREAMS_PER_KEY: '50' }),
  );
  [viewer, operator] = await Promise.all([api.key('viewer'), api.key('operator', 'ops')]);
});
beforeEach(async () => {
  await api.orm.em.fork().nativeDelete(Notification, {});
});
afterEach(() => {
  clients.splice(0).forEach((c) => c.close());
});
afterAll(async () => {
  await waitFor(() => notificationPollersRunning() === 0);
  await api.close();
  await db.drop();
});

interface Item {
  id: string;
  seq: number;
  title: string;
  read: boolean;
  readAt: string | null;
}

const em = () => api.orm.em.fork() as EntityManager;
const notify = (title: string, kind: NotificationKind = 'level_up') =>
  createNotification(em(), { kind, title, message: `${title}: details`, data: { title } });
const list = async (query = '') =>
  (await api.request('GET', `/api/notifications${query}`, { key: viewer })).body as { items: Item[]; page: object };
const titles = async (query = '') => (await list(query)).items.map((i) => i.title);
const byTitle = async (title: string) => (await list()).items.find((i) => i.title === title) as Item;

async function stream(opts: { lastEventId?: string; query?: string } = {}): Promise<SseClient> {
  const client = await connectSse(`${api.url}/api/notifications/stream${opts.query ?? ''}`, {
    key: viewer,
    headers: opts.lastEventId === undefined ? {} : { 'Last-Event-ID': opts.lastEventId },
  });
  clients.push(client);
  return client;
}

async function waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('list and mark read', () => {
  it('lists newest first with every field, filtered by unread and kind, paginated', async () => {
    await notify('first');
    await createNotification(em(), {
      kind: 'security_finding',
      title: 'second',
      message: 'a secret in the diff',
      priority: 'high',
      data: { findingId: 'f-1' },
    });
    await notify('third');
    await em().nativeUpdate(
      Notification,
      { title: 'second' },
      { read: true, readAt: new Date('2026-01-02T03:04:05.000Z') },
    );

    const all = await list();
    expect(all.items.map((i) => i.title)).toEqual(['third', 'second', 'first']);
    expect(all.page).toEqual({ limit: 50, offset: 0, total: 3 });
    const [third, second, first] = all.items as [Item, Item, Item];
    expect(third.seq).toBeGreaterThan(second.seq);
    expect(second.seq).toBeGreaterThan(first.seq);
    expect(second).toEqual({
      id: expect.any(String),
      seq: expect.any(Number),
      kind: 'security_finding',
      title: 'second',
      message: 'a secret in the diff',
      priority: 'high',
      data: { findingId: 'f-1' },
      read: true,
      readAt: '2026-01-02T03:04:05.000Z',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
    });

    expect(await titles('?unread=true')).toEqual(['third', 'first']);
    expect(await titles('?unread=false')).toEqual(['second']);
    expect(await titles('?kind=level_up')).toEqual(['third', 'first']);
    expect(await list('?limit=1&offset=1')).toEqual({
      items: [expect.objectContaining({ title: 'second' })],
      page: { limit: 1, offset: 1, total: 3 },
    });
  });

  it('names the invalid filter in a 400', async () => {
    for (const [query, field] of [
      ['?unread=maybe', 'unread'],
      ['?kind=party', 'kind'],
      ['?limit=101', 'limit'],
    ]) {
      const res = await api.request('GET', `/api/notifications${query}`, { key: viewer });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: { code: 'invalid_request', details: [{ field }] } });
    }
  });

  it('marks one read for an operator, keeps the first readAt on a repeat, and refuses a viewer', async () => {
    await notify('to read');
    await notify('left alone');
    const { id } = await byTitle('to read');

    const denied = await api.request('POST', `/api/notifications/${id}/read`, { key: viewer });
    expect(denied.status).toBe(403);
    expect((await byTitle('to read')).read).toBe(false);

    const first = await api.request('POST', `/api/notifications/${id}/read`, { key: operator });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ id, title: 'to read', read: true, readAt: expect.any(String) });
    const again = await api.request('POST', `/api/notifications/${id}/read`, { key: operator });
    expect(again.status).toBe(200);
    expect((again.body as Item).readAt).toBe((first.body as Item).readAt);
    expect(await titles('?unread=true')).toEqual(['left alone']);
  });

  it('answers 404 for an unknown notification and 400 for a malformed id', async () => {
    const unknown = await api.request('POST', `/api/notifications/${randomUUID()}/read`, { key: operator });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: { code: 'not_found' } });
    const malformed = await api.request('POST', '/api/notifications/not-a-uuid/read', { key: operator });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ error: { details: [{ field: 'id' }] } });
  });

  it('marks every unread one read and says how many (operator only)', async () => {
    await notify('a');
    await notify('b');
    await notify('c');
    await api.request('POST', `/api/notifications/${(await byTitle('b')).id}/read`, { key: operator });

    expect((await api.request('POST', '/api/notifications/read-all', { key: viewer })).status).toBe(403);
    const marked = await api.request('POST', '/api/notifications/read-all', { key: operator });
    expect(marked.status).toBe(200);
    expect(marked.body).toEqual({ marked: 2 });
    expect((await api.request('POST', '/api/notifications/read-all', { key: operator })).body).toEqual({ marked: 0 });
    expect(await titles('?unread=true')).toEqual([]);
    expect((await list()).items.every((i) => i.read && i.readAt !== null)).toBe(true);
  });
});

describe('stream', () => {
  it('opens an event stream and delivers a notification created after connecting, not the ones before', async () => {
    await notify('before');
    const client = await stream();
    expect(client.status).toBe(200);
    expect(client.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(client.headers.get('cache-control')).toBe('no-cache');
    expect(client.headers.get('x-accel-buffering')).toBe('no');

    await notify('after');
    const event = await client.nextEvent();
    const after = await byTitle('after');
    expect(event).toEqual({ id: String(after.seq), event: 'notification', data: after });
  });

  it('resumes exactly after Last-Event-ID, in order, without repeating', async () => {
    for (const title of ['one', 'two', 'three']) await notify(title);
    const [one, two, three] = (await Promise.all(['one', 'two', 'three'].map(byTitle))) as [Item, Item, Item];

    const client = await stream({ lastEventId: String(one.seq) });
    expect(await client.nextEvent()).toMatchObject({ id: String(two.seq), data: { title: 'two' } });
    expect(await client.nextEvent()).toMatchObject({ id: String(three.seq), data: { title: 'three' } });
    await notify('four');
    expect(await client.nextEvent()).toMatchObject({ data: { title: 'four' } });
  });

  it('takes the resume point from ?lastEventId= when no header is sent, and the header over the query', async () => {
    for (const title of ['one', 'two', 'three']) await notify(title);
    const [one, two] = (await Promise.all(['one', 'two'].map(byTitle))) as [Item, Item];

    const fromQuery = await stream({ query: `?lastEventId=${two.seq}` });
    expect(await fromQuery.nextEvent()).toMatchObject({ data: { title: 'three' } });
    const headerWins = await stream({ query: `?lastEventId=${two.seq}`, lastEventId: String(one.seq) });
    expect(await headerWins.nextEvent()).toMatchObject({ data: { title: 'two' } });
  });

  it('holds a later notification back until an earlier one, still in its transaction, commits: seq order is kept', async () => {
    const client = await stream();
    await em().transactional(async (tx) => {
      await createNotification(tx, { kind: 'level_up', title: 'slow', message: 'committed last' });
      await notify('fast');
      await new Promise((resolve) => setTimeout(resolve, 1000)); // two polls see "fast" without "slow"
    });
    expect(await client.nextEvent()).toMatchObject({ data: { title: 'slow' } });
    expect(await client.nextEvent()).toMatchObject({ data: { title: 'fast' } });
  });

  it('passes a seq spent by a dedupe conflict after a short wait', async () => {
    const dedupeKey = `once-${randomUUID()}`;
    await createNotification(em(), { kind: 'budget_warning', title: 'once', message: 'm', dedupeKey });
    const client = await stream();
    expect(
      await createNotification(em(), { kind: 'budget_warning', title: 'once again', message: 'm', dedupeKey }),
    ).toBe(false);
    await notify('next');
    expect(await client.nextEvent()).toMatchObject({ data: { title: 'next' } });
  });

  it('sends a heartbeat comment while nothing happens', async () => {
    const client = await stream();
    const comments: string[] = [];
    while (comments.length < 3) {
      const message = await client.next(2000);
      if (message?.comment !== undefined) comments.push(message.comment);
    }
    expect(comments).toEqual(['connected', 'ping', 'ping']);
  });

  it('runs one poller for every client and stops it when the last one disconnects', async () => {
    await waitFor(() => notificationPollersRunning() === 0);
    const a = await stream();
    const b = await stream();
    expect(notificationPollersRunning()).toBe(1);

    a.close();
    await notify('still served');
    expect(await b.nextEvent()).toMatchObject({ data: { title: 'still served' } });
    expect(notificationPollersRunning()).toBe(1);

    b.close();
    await waitFor(() => notificationPollersRunning() === 0);
  });

  it('answers 401 without a key and 400 for a malformed Last-Event-ID, before streaming', async () => {
    const anonymous = await api.request('GET', '/api/notifications/stream');
    expect(anonymous.status).toBe(401);
    const malformed = await api.request('GET', '/api/notifications/stream', {
      key: viewer,
      headers: { 'Last-Event-ID': 'abc' },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ error: { code: 'invalid_request', details: [{ field: 'lastEventId' }] } });
  });
});

describe('stream limits', () => {
  let capped: TestApi;
  let short: TestApi;
  let a: string;
  let b: string;

  beforeAll(async () => {
    capped = await startTestApi(
      testConfig(db.url, { RATE_LIMIT_MAX: '10000', SSE_MAX_STREAMS_PER_KEY: '2', SSE_MAX_STREAMS: '3' }),
    );
    short = await startTestApi(
      testConfig(db.url, { RATE_LIMIT_MAX: '10000', SSE_MAX_STREAMS_PER_KEY: '1', SSE_MAX_LIFETIME_SECONDS: '1' }),
    );
    [a, b] = await Promise.all([capped.key('viewer', 'viewer-a'), capped.key('viewer', 'viewer-b')]);
  });
  afterAll(async () => {
    clients.splice(0).forEach((c) => c.close());
    await waitFor(() => notificationPollersRunning() === 0);
    await Promise.all([capped.close(), short.close()]);
  });

  /** Opens a stream; a refused one comes back with its JSON error instead. */
  async function open(
    on: TestApi,
    key: string,
    path = '/api/notifications/stream',
    headers: Record<string, string> = {},
  ): Promise<{ status: number; client?: SseClient; body?: unknown }> {
    const client = await connectSse(`${on.url}${path}`, { key, headers });
    if (client.status !== 200) return { status: client.status, body: client.errorBody };
    clients.push(client);
    return { status: 200, client };
  }

  it('refuses a key its streams past SSE_MAX_STREAMS_PER_KEY and everyone past SSE_MAX_STREAMS with a JSON 429; a closed stream frees its slot', async () => {
    const first = await open(capped, a);
    const second = await open(capped, a);
    expect([first.status, second.status]).toEqual([200, 200]);
    const third = await open(capped, a);
    expect(third).toMatchObject({
      status: 429,
      body: { error: { code: 'too_many_streams', message: expect.stringMatching(/SSE_MAX_STREAMS_PER_KEY=2/) } },
    });
    // The workflow events stream counts against the same limits (refused before the workflow is even looked up).
    expect(await open(capped, a, '/api/workflows/no-such-workflow/events')).toMatchObject({
      status: 429,
      body: { error: { code: 'too_many_streams' } },
    });

    expect((await open(capped, b)).status).toBe(200);
    expect(await open(capped, b)).toMatchObject({
      status: 429,
      body: { error: { code: 'too_many_streams', message: expect.stringMatching(/SSE_MAX_STREAMS=3/) } },
    });

    first.client?.close();
    const deadline = Date.now() + 5000;
    let again = await open(capped, a);
    while (again.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      again = await open(capped, a);
    }
    expect(again.status).toBe(200);
  });

  it("frees the slot of a stream refused before it opened (an unknown workflow's 404)", async () => {
    const c = await capped.key('viewer', 'viewer-c');
    clients.splice(0).forEach((client) => client.close());
    const globallyFull = (r: { status: number; body?: unknown }) =>
      r.status === 429 && JSON.stringify(r.body).includes('SSE_MAX_STREAMS=');
    for (let i = 0; i < 3; i++) {
      // The closes above free their slots once the server sees them: wait out the global cap, never the key's.
      const deadline = Date.now() + 5000;
      let res = await open(capped, c, `/api/workflows/no-such-workflow-${i}/events`);
      while (globallyFull(res) && Date.now() < deadline)
        res = await open(capped, c, `/api/workflows/no-such-workflow-${i}/events`);
      expect(res).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    }
  });

  it('closes a stream after SSE_MAX_LIFETIME_SECONDS; the client reconnects with Last-Event-ID and misses nothing', async () => {
    const key = await short.key('viewer');
    const opened = Date.now();
    const first = await open(short, key);
    expect(first.status).toBe(200);
    await notify('before the lifetime ends');
    const seen = await first.client?.nextEvent(3000);
    expect(seen).toMatchObject({ event: 'notification', data: { title: 'before the lifetime ends' } });
    expect(await first.client?.nextEvent(3000)).toBeNull(); // the server ended it
    expect(Date.now() - opened).toBeGreaterThanOrEqual(900);

    await notify('while reconnecting');
    // SSE_MAX_STREAMS_PER_KEY is 1 here: reconnecting at all shows the ended stream freed its slot.
    const deadline = Date.now() + 5000;
    let again = await open(short, key, '/api/notifications/stream', { 'Last-Event-ID': String(seen?.id) });
    while (again.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      again = await open(short, key, '/api/notifications/stream', { 'Last-Event-ID': String(seen?.id) });
    }
    expect(again.status).toBe(200);
    expect(await again.client?.nextEvent()).toMatchObject({ data: { title: 'while reconnecting' } });
  });
});
