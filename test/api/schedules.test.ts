import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { createLogger } from '../../src/logger';
import { scheduleDefinitions } from '../../src/temporal/schedule-definitions';
import { syncSchedules } from '../../src/temporal/schedules';
import { startTestApi, type TestApi } from '../helpers/api';
import { testConfig } from '../helpers/config';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { requiredTestEnv, TEST_ENV } from '../helpers/env';

let db: TestDatabase;
let api: TestApi;
let connection: Connection;
let client: Client;
// A task queue no worker polls: a triggered run waits there harmlessly.
const config = () =>
  testConfig(db.url, { TEMPORAL_TASK_QUEUE: `idle-${randomBytes(4).toString('hex')}`, RATE_LIMIT_MAX: '10000' });
let definitions: ReturnType<typeof scheduleDefinitions>;

beforeAll(async () => {
  db = await createTestDatabase();
  const cfg = config();
  definitions = scheduleDefinitions(cfg);
  api = await startTestApi(cfg);
  connection = await Connection.connect({ address: requiredTestEnv(TEST_ENV.temporalAddress) });
  client = new Client({ connection });
});
afterAll(async () => {
  for (const def of definitions)
    await client.schedule
      .getHandle(def.id)
      .delete()
      .catch(() => undefined);
  await connection.close();
  await api.close();
  await db.drop();
});

it('syncs every schedule idempotently (a second worker start creates none) and lists, pauses, unpauses and triggers them', async () => {
  const logger = createLogger({ level: 'error', format: 'json' });
  const first = await syncSchedules(client, definitions, { catchupWindowSeconds: 60, logger });
  const second = await syncSchedules(client, definitions, { catchupWindowSeconds: 60, logger });
  expect(first.created.length + first.updated.length).toBe(definitions.length);
  expect(second).toEqual({ created: [], updated: definitions.map((d) => d.id) });

  const [viewer, operator] = await Promise.all([api.key('viewer'), api.key('operator', 'ops')]);
  const list = await api.request('GET', '/api/schedules', { key: viewer });
  const items = (list.body as { items: Array<{ id: string; exists: boolean; paused: boolean }> }).items;
  expect(items.map((i) => i.id).sort()).toEqual(definitions.map((d) => d.id).sort());
  expect(items.every((i) => i.exists && !i.paused)).toBe(true);

  expect((await api.request('POST', '/api/schedules/guardian-scan/pause', { key: viewer })).status).toBe(403);
  expect(
    (
      await api.request('POST', '/api/schedules/guardian-scan/pause', {
        key: operator,
        body: { reason: 'maintenance window' },
      })
    ).status,
  ).toBe(200);
  const paused = await api.request('GET', '/api/schedules', { key: viewer });
  expect((paused.body as { items: Array<{ id: string }> }).items.find((i) => i.id === 'guardian-scan')).toMatchObject({
    paused: true,
    pauseNote: 'maintenance window',
  });
  // A second sync (a worker restart) keeps the operator's pause.
  await syncSchedules(client, definitions, { catchupWindowSeconds: 60, logger });
  expect((await client.schedule.getHandle('guardian-scan').describe()).state.paused).toBe(true);
  expect((await api.request('POST', '/api/schedules/guardian-scan/unpause', { key: operator })).status).toBe(200);
  expect((await client.schedule.getHandle('guardian-scan').describe()).state.paused).toBe(false);
  expect((await api.request('POST', '/api/schedules/conquest-analysis/trigger', { key: operator })).status).toBe(200);
  expect((await api.request('POST', '/api/schedules/no-such-schedule/trigger', { key: operator })).status).toBe(404);
});

it('creates the weekly report as a calendar schedule firing Mondays at 09:00 UTC', async () => {
  const logger = createLogger({ level: 'error', format: 'json' });
  await syncSchedules(client, definitions, { catchupWindowSeconds: 60, logger });
  const described = await client.schedule.getHandle('weekly-report').describe();
  expect(described.spec.intervals ?? []).toEqual([]);
  // Interval schedules carry their own offsets into Temporal (they no longer all fire at the same instant).
  const scan = definitions.find((d) => d.id === 'guardian-scan');
  const scanSpec = (await client.schedule.getHandle('guardian-scan').describe()).spec;
  expect(scanSpec.intervals).toEqual([
    { every: (scan?.intervalSeconds ?? 0) * 1000, offset: (scan?.offsetSeconds ?? 0) * 1000 },
  ]);
  expect(scan?.offsetSeconds).toBeGreaterThan(0);
  expect(described.spec.calendars).toEqual([
    expect.objectContaining({
      dayOfWeek: [{ start: 'MONDAY', end: 'MONDAY', step: 1 }],
      hour: [{ start: 9, end: 9, step: 1 }],
      minute: [{ start: 0, end: 0, step: 1 }],
    }),
  ]);
  expect(described.action).toMatchObject({
    type: 'startWorkflow',
    workflowType: 'weeklyReportWorkflow',
    workflowId: 'weekly-report-scheduled',
  });
  const next = described.info.nextActionTimes;
  expect(next.length).toBeGreaterThan(0);
  for (const t of next)
    expect([t.getUTCDay(), t.getUTCHours(), t.getUTCMinutes(), t.getUTCSeconds()]).toEqual([1, 9, 0, 0]);
});

it('creates the reconciler schedule, and starts exams with their workflow execution timeout', async () => {
  const logger = createLogger({ level: 'error', format: 'json' });
  await syncSchedules(client, definitions, { catchupWindowSeconds: 60, logger });
  const reconciler = await client.schedule.getHandle('reconcile').describe();
  expect(reconciler.action).toMatchObject({
    type: 'startWorkflow',
    workflowType: 'reconcileWorkflow',
    workflowId: 'reconcile-scheduled',
  });
  expect(reconciler.policies.overlap).toBe('SKIP');
  const exam = await client.schedule.getHandle('custody-guardian').describe();
  expect(exam.action).toMatchObject({ workflowExecutionTimeout: 2 * 3600 * 1000 });
});

it('moves a schedule between an interval and a calendar on sync, keeping one schedule', async () => {
  const logger = createLogger({ level: 'error', format: 'json' });
  const id = `switch-${randomBytes(4).toString('hex')}`;
  const base = {
    id,
    workflowType: 'weeklyReportWorkflow',
    args: [{ trigger: 'schedule' }],
    taskQueue: 'idle',
    workflowIdPrefix: id,
    note: 'spec switch',
  };
  try {
    expect(
      await syncSchedules(client, [{ ...base, intervalSeconds: 3600 }], { catchupWindowSeconds: 60, logger }),
    ).toEqual({ created: [id], updated: [] });
    expect(
      await syncSchedules(client, [{ ...base, calendar: { dayOfWeek: 'FRIDAY', hour: 17, minute: 30 } }], {
        catchupWindowSeconds: 60,
        logger,
      }),
    ).toEqual({ created: [], updated: [id] });
    const spec = (await client.schedule.getHandle(id).describe()).spec;
    expect(spec.intervals ?? []).toEqual([]);
    expect(spec.calendars).toHaveLength(1);
    expect(spec.calendars?.[0]).toMatchObject({
      dayOfWeek: [{ start: 'FRIDAY' }],
      hour: [{ start: 17 }],
      minute: [{ start: 30 }],
    });
  } finally {
    await client.schedule
      .getHandle(id)
      .delete()
      .catch(() => undefined);
  }
});
