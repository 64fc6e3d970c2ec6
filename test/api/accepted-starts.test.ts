import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ApplicationFailure } from '@temporalio/activity';
import type { Activities } from '../../activities';
import { createReconcileActivities } from '../../activities/reconcile.activities';
import { AgentRun } from '../../src/db/entities';
import { createTemporalClient } from '../../src/temporal/client';
import { startTestApi, type TestApi } from '../helpers/api';
import { testConfig } from '../helpers/config';
import { useLlmTestBed } from '../helpers/llm';
import { createTestWorker } from '../helpers/worker';
import type { Config } from '../../src/config';

// A start the API accepts (202) always yields a recorded row: stored before the workflow starts, ended by the
// workflow or, when its begin step fails for good before it knows the row, by the reconciler.
const bed = useLlmTestBed();
const TASK_QUEUE = `api-accepted-${randomBytes(4).toString('hex')}`;
let config: Config;
let api: TestApi;
let viewer: string;
let operator: string;

beforeAll(async () => {
  config = testConfig(bed.db.url, bed.fakes.env({ TEMPORAL_TASK_QUEUE: TASK_QUEUE, RATE_LIMIT_MAX: '10000' }));
  api = await startTestApi(config);
  [viewer, operator] = await Promise.all([api.key('viewer'), api.key('operator', 'ops')]);
});
afterAll(() => api.close());

const unavailable = () => {
  throw ApplicationFailure.nonRetryable(
    'the target repository is unavailable: branch main is not on the remote',
    'target_unavailable',
  );
};

/** Runs a worker with `faults` until the workflow `workflowId` has closed (its outcome ignored). */
async function runUntilClosed(workflowId: string, faults: Partial<Activities>): Promise<void> {
  const worker = await createTestWorker(config, bed.orm, {
    workflowsPath: require.resolve('../../workflows'),
    taskQueue: TASK_QUEUE,
    faults,
  });
  try {
    await worker.run(() =>
      worker.client.workflow
        .getHandle(workflowId)
        .result()
        .catch(() => undefined),
    );
  } finally {
    await worker.close();
  }
}

it('a proposal whose begin step fails for good is recorded at the 202’s URL from the start, and ends failed with the cause', async () => {
  const res = await api.request('POST', '/api/proposals', {
    key: operator,
    body: { agentId: 'guardian', goal: 'escape the user name in findUserQuery' },
  });
  expect(res.status).toBe(202);
  const { proposalUrl, workflowId } = res.body as { proposalUrl: string; workflowId: string };
  expect(await api.request('GET', proposalUrl, { key: viewer })).toMatchObject({
    status: 200,
    body: { status: 'drafting', goal: 'escape the user name in findUserQuery', requestedBy: 'ops' },
  });

  await runUntilClosed(workflowId, { proposalBegin: unavailable });
  const ended = await api.request('GET', proposalUrl, { key: viewer });
  expect(ended.body).toMatchObject({
    status: 'failed',
    error: expect.stringMatching(/target repository is unavailable/),
    completedAt: expect.any(String),
  });
  expect((ended.body as { timeline: Array<{ state: string }> }).timeline.map((e) => e.state)).toEqual(['failed']);
});

it('an agent run whose begin step fails for good is recorded at the 202’s URL from the start, and the reconciler ends it failed', async () => {
  const res = await api.request('POST', '/api/sandbox/experiments', { key: operator });
  expect(res.status).toBe(202);
  const { experimentUrl, workflowId, runId } = res.body as { experimentUrl: string; workflowId: string; runId: string };
  expect(await api.request('GET', experimentUrl, { key: viewer })).toMatchObject({
    status: 200,
    body: { id: runId, workflowId, status: 'running', trigger: 'api', requestedBy: 'ops' },
  });

  await runUntilClosed(workflowId, { beginAgentRun: unavailable });
  const temporal = createTemporalClient(config.temporal);
  try {
    const { reconcileEndings } = createReconcileActivities({ orm: bed.orm, temporal });
    expect((await reconcileEndings(0)).ended).toEqual([
      expect.objectContaining({ kind: 'run', id: runId, status: 'failed' }),
    ]);
  } finally {
    await temporal.connection.close();
  }
  expect(await (bed.orm.em.fork() as EntityManager).findOneOrFail(AgentRun, { id: runId })).toMatchObject({
    status: 'failed',
    error: 'failed in Temporal before recording its ending',
    completedAt: expect.any(Date),
  });
  expect(await api.request('GET', experimentUrl, { key: viewer })).toMatchObject({
    status: 200,
    body: { status: 'failed' },
  });
});
