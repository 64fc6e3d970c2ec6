import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startTestApi, type TestApi } from '../helpers/api';
import { testConfig } from '../helpers/config';
import { useLlmTestBed } from '../helpers/llm';
import { createTestWorker, type TestWorker } from '../helpers/worker';

const bed = useLlmTestBed();
const TASK_QUEUE = `api-guardian-${randomBytes(4).toString('hex')}`;
let api: TestApi;
let worker: TestWorker;
let dataDir: string;
let viewer: string;
let operator: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'lvlup-guardian-api-'));
  const config = testConfig(bed.db.url, {
    DATA_DIR: dataDir,
    TEMPORAL_TASK_QUEUE: TASK_QUEUE,
    RATE_LIMIT_MAX: '10000',
  });
  api = await startTestApi(config);
  worker = await createTestWorker(config, bed.orm, {
    workflowsPath: require.resolve('../../workflows'),
    taskQueue: TASK_QUEUE,
  });
  [viewer, operator] = await Promise.all([api.key('viewer'), api.key('operator', 'ops')]);
});
afterAll(async () => {
  await worker.close();
  await api.close();
  await rm(dataDir, { recursive: true, force: true });
});

type FindingBody = { id: string; severity: string; status: string; file: string; dismissedBy: string | null };

it('starts a scan (202), lists it and its findings by severity, and lets an operator dismiss one', async () => {
  const started = await api.request('POST', '/api/guardian/scans', { key: operator });
  expect(started.status).toBe(202);
  const { statusUrl } = started.body as { statusUrl: string };
  await worker.run(async () => {
    for (;;) {
      const res = await api.request('GET', statusUrl, { key: viewer });
      if ((res.body as { status: string }).status !== 'RUNNING') return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });
  const scans = await api.request('GET', '/api/guardian/scans', { key: viewer });
  expect(scans.body).toMatchObject({
    items: [{ kind: 'guardian_scan', status: 'completed', requestedBy: 'ops' }],
    page: { total: 1 },
  });

  const high = await api.request('GET', '/api/guardian/findings?severity=high&status=open', { key: viewer });
  const items = (high.body as { items: FindingBody[] }).items;
  expect(items.length).toBeGreaterThan(0);
  for (const f of items) expect(f).toMatchObject({ severity: 'high', status: 'open' });

  const target = items[0] as FindingBody;
  expect(
    (await api.request('POST', `/api/guardian/findings/${target.id}/dismiss`, { key: viewer, body: { reason: 'x' } }))
      .status,
  ).toBe(403);
  const missingReason = await api.request('POST', `/api/guardian/findings/${target.id}/dismiss`, {
    key: operator,
    body: {},
  });
  expect(missingReason.status).toBe(400);
  const dismissed = await api.request('POST', `/api/guardian/findings/${target.id}/dismiss`, {
    key: operator,
    body: { reason: 'accepted risk in the demo' },
  });
  expect(dismissed.body).toMatchObject({
    id: target.id,
    status: 'dismissed',
    dismissedBy: 'ops',
    dismissReason: 'accepted risk in the demo',
  });
  expect((await api.request('GET', '/api/guardian/findings?severity=urgent', { key: viewer })).status).toBe(400);
});
