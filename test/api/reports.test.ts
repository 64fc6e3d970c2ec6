import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Client, Connection } from '@temporalio/client';
import { weeklyReportWorkflowId } from '../../src/contracts';
import { AuditLog } from '../../src/db/entities';
import { lastEndedWeekStart, weekStartOf } from '../../src/domain/weeks';
import { createNotification } from '../../src/notifications/create';
import { startTestApi, type TestApi } from '../helpers/api';
import { testConfig } from '../helpers/config';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { requiredTestEnv, TEST_ENV } from '../helpers/env';

let db: TestDatabase;
let api: TestApi;
let connection: Connection;
let client: Client;
let viewer: string;
let operator: string;
const started: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  // A task queue no worker polls: a started report stays running, which is what the 409 needs.
  api = await startTestApi(
    testConfig(db.url, { TEMPORAL_TASK_QUEUE: `idle-${randomBytes(4).toString('hex')}`, RATE_LIMIT_MAX: '10000' }),
  );
  [viewer, operator] = await Promise.all([api.key('viewer'), api.key('operator', 'ops')]);
  connection = await Connection.connect({ address: requiredTestEnv(TEST_ENV.temporalAddress) });
  client = new Client({ connection });
});
afterAll(async () => {
  for (const id of started)
    await client.workflow
      .getHandle(id)
      .terminate('test over')
      .catch(() => undefined);
  await connection.close();
  await api.close();
  await db.drop();
});

describe('POST /api/reports/weekly', () => {
  it('starts the report of the week that has just ended by default, under the week’s id, audited', async () => {
    const week = lastEndedWeekStart(new Date());
    const res = await api.request('POST', '/api/reports/weekly', { key: operator });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      workflowId: weeklyReportWorkflowId(week),
      statusUrl: `/api/workflows/weekly-report-${week}`,
      weekStart: week,
    });
    started.push(weeklyReportWorkflowId(week));
    const described = await client.workflow.getHandle(weeklyReportWorkflowId(week)).describe();
    expect(described).toMatchObject({ type: 'weeklyReportWorkflow', status: { name: 'RUNNING' } });
    const audit = await api.orm.em.fork().findOne(AuditLog, { target: `workflow:weekly-report-${week}` });
    expect(audit).toMatchObject({ actorName: 'ops', method: 'POST', status: 202 });
  });

  it('answers 409 while that week’s report is running', async () => {
    const week = '2026-01-05';
    expect(
      (await api.request('POST', '/api/reports/weekly', { key: operator, body: { weekStart: week } })).status,
    ).toBe(202);
    started.push(weeklyReportWorkflowId(week));
    const again = await api.request('POST', '/api/reports/weekly', { key: operator, body: { weekStart: week } });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      error: { code: 'conflict', details: { workflowId: 'weekly-report-2026-01-05' } },
    });
  });

  it('refuses a day that is not a Monday, the current week and a future week with 400 naming weekStart', async () => {
    const current = weekStartOf(new Date());
    const future = new Date(Date.parse(current) + 7 * 86_400_000).toISOString().slice(0, 10);
    const cases: Array<[string, RegExp]> = [
      ['2026-01-06', /Monday/],
      ['2026-02-30', /date|Monday/],
      ['last week', /YYYY-MM-DD/],
      [current, /ended/],
      [future, /ended/],
    ];
    for (const [weekStart, message] of cases) {
      const res = await api.request('POST', '/api/reports/weekly', { key: operator, body: { weekStart } });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        error: { code: 'invalid_request', details: [{ field: 'weekStart', message: expect.stringMatching(message) }] },
      });
      expect((res.body as { error: { details: unknown[] } }).error.details).toHaveLength(1);
    }
    expect(
      (await api.request('POST', '/api/reports/weekly', { key: operator, body: { weekStart: '2026-01-05', extra: 1 } }))
        .status,
    ).toBe(400);
  });

  it('is for operators', async () => {
    expect((await api.request('POST', '/api/reports/weekly', { key: viewer })).status).toBe(403);
    expect((await api.request('POST', '/api/reports/weekly')).status).toBe(401);
  });
});

describe('GET /api/reports/weekly', () => {
  it('lists the stored reports, newest week first, paginated, for viewers', async () => {
    const em = api.orm.em.fork() as EntityManager;
    // Stored out of order: the list follows the week, not when the report was made.
    for (const weekStart of ['2026-01-12', '2026-02-02', '2026-01-19']) {
      await createNotification(em, {
        kind: 'weekly_report',
        title: `Weekly report: ${weekStart}`,
        message: `Week ${weekStart}`,
        data: { weekStart, tokens: { total: { calls: 1 } } },
        dedupeKey: `weekly_report:${weekStart}`,
      });
    }
    await createNotification(em, { kind: 'level_up', title: 'not a report', message: 'x' });
    const res = await api.request('GET', '/api/reports/weekly?limit=2', { key: viewer });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      items: [
        {
          weekStart: '2026-02-02',
          message: 'Week 2026-02-02',
          report: { weekStart: '2026-02-02', tokens: { total: { calls: 1 } } },
        },
        { weekStart: '2026-01-19' },
      ],
      page: { limit: 2, offset: 0, total: 3 },
    });
    const next = await api.request('GET', '/api/reports/weekly?limit=2&offset=2', { key: viewer });
    expect((next.body as { items: Array<{ weekStart: string; notificationId: string }> }).items).toEqual([
      expect.objectContaining({ weekStart: '2026-01-12', notificationId: expect.any(String) }),
    ]);
    expect((await api.request('GET', '/api/reports/weekly?limit=500', { key: viewer })).status).toBe(400);
    expect((await api.request('GET', '/api/reports/weekly')).status).toBe(401);
  });
});
