import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import {
  agentRunWorkflowId,
  CUSTODY_EXAM_WORKFLOW,
  custodyWorkflowId,
  GUARDIAN_SCAN_WORKFLOW,
  progressQuery,
  proposalWorkflowId,
  RECONCILE_WORKFLOW,
  type AgentRunInput,
  type CustodyExamInput,
  type ReconcileInput,
  type ReconcileResult,
} from '../../src/contracts';
import type { Config } from '../../src/config';
import { Agent, AgentRun, Exam, Finding, ProposalEvent } from '../../src/db/entities';
import type { AgentId } from '../../src/domain/agents';
import { runTarget } from '../../activities/runs.activities';
import { startTestApi, type TestApi } from '../helpers/api';
import { testConfig } from '../helpers/config';
import { useLlmTestBed } from '../helpers/llm';
import { exampleTargetFix, proposalReaching } from '../helpers/proposals';
import { createTestWorker, TEST_RUN_TIMEOUTS, type TestWorker } from '../helpers/worker';

jest.setTimeout(180_000);

// Every workflow ends its rows in every ending (issue 14): cancelled from Temporal, the workflow ends its own row;
// terminated or timed out (no workflow code runs), the reconciler ends it within one of its runs.
const bed = useLlmTestBed();
const em = () => bed.orm.em.fork() as EntityManager;
let dataDir: string;
let config: Config;
let worker: TestWorker;
let api: TestApi;
let operator: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'lvlup-endings-'));
  // The API starts workflows on the worker's own task queue; a hung provider call gives up after 30 s.
  const env = {
    LLM_PROFILE_FALLBACK: '',
    ANTHROPIC_API_KEY: '',
    DATA_DIR: dataDir,
    LLM_TIMEOUT_SECONDS: '30',
    TEMPORAL_TASK_QUEUE: `endings-${randomUUID().slice(0, 8)}`,
  };
  config = testConfig(bed.db.url, bed.fakes.env(env));
  worker = await createTestWorker(config, bed.orm, {
    workflowsPath: require.resolve('../../workflows'),
    taskQueue: config.temporal.taskQueue,
  });
  worker.start();
  api = await startTestApi(config);
  operator = await api.key('operator', 'endings-ops');
});
afterAll(async () => {
  await api?.close();
  await worker?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const RUBRIC = [{ name: 'accuracy', weight: 1, description: 'Is it correct?' }];
const codeItem = () => ({
  kind: 'code',
  prompt: `Write a JavaScript function add(a, b) that returns the sum (${randomUUID()}).`,
  functionName: 'add',
  tests: [
    { args: [1, 2], expected: 3 },
    { args: [2, 2], expected: 4 },
  ],
});
const DIFF = exampleTargetFix();

/** The examiner writes its items; the agent's answer never comes (the provider hangs): the exam stays in `answer`. */
function scriptHangingFakes(): void {
  bed.fakes.reset();
  bed.fakes.openai.when('rigorous examiner', (req) => {
    const n = Number(/Write (\d+) exam item/.exec(req.prompt)?.[1] ?? 3);
    return {
      json: {
        items: [
          codeItem(),
          ...Array.from({ length: n - 1 }, (_, i) => ({
            kind: 'open',
            prompt: `Explain idea ${i} of run ${randomUUID()}.`,
            rubric: RUBRIC,
          })),
        ],
      },
    };
  });
  bed.fakes.openai.when('You are taking an exam', { hang: true });
  bed.fakes.openai.when('Triage static-analysis findings', { hang: true });
  bed.fakes.openai.when('Review this proposed diff', { json: { summary: 'Looks safe.', concerns: [] } });
  bed.fakes.openai.when('Propose one small, safe change', {
    json: { title: 'Check names in findUserQuery', rationale: 'Quotes ended the literal.', risk: 'Low.', diff: DIFF },
  });
}

async function resetAgent(id: AgentId): Promise<void> {
  await em().nativeUpdate(
    Agent,
    { id },
    {
      level: 1,
      xp: 40,
      examsTaken: 0,
      examsPassed: 0,
      examsFailed: 0,
      consecutivePasses: 0,
      consecutiveFailures: 0,
      lastPassedAt: new Date(),
      status: 'active',
    },
  );
}

/** Polls the workflow's `progress` query until it reports `step` (the workflow is then inside that step). */
async function reachStep(handle: WorkflowHandle, step: string): Promise<void> {
  let progress: unknown;
  for (let i = 0; i < 600; i++) {
    progress = await handle.query(progressQuery).catch((err: Error) => err.message);
    if ((progress as { step?: string } | undefined)?.step === step) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${handle.workflowId} never reached ${step}: ${JSON.stringify(progress)}`);
}

/** An exam started over the API, inside its (hanging) answer step. */
async function examAnswering(agentId: AgentId): Promise<WorkflowHandle> {
  const res = await api.request('POST', '/api/custody/tests', { key: operator, body: { agentId } });
  expect(res.status).toBe(202);
  const handle = worker.client.workflow.getHandle((res.body as { workflowId: string }).workflowId);
  await reachStep(handle, 'answer');
  return handle;
}

async function guardianScanInTriage(): Promise<{ handle: WorkflowHandle; workflowId: string }> {
  // The scanners' findings are new again (triage only runs for new ones).
  await em().execute(
    `delete from findings where first_run_id in (select id from agent_runs where kind = 'guardian_scan')`,
  );
  const workflowId = agentRunWorkflowId('guardian-scan', randomUUID());
  const input: AgentRunInput = { trigger: 'api', timeouts: TEST_RUN_TIMEOUTS };
  const handle = await worker.client.workflow.start(GUARDIAN_SCAN_WORKFLOW, {
    args: [input],
    taskQueue: worker.taskQueue,
    workflowId,
  });
  await reachStep(handle, 'triage');
  return { handle, workflowId };
}

async function openFinding(): Promise<Finding> {
  const { repo } = await runTarget(bed.orm, config);
  const finding = new Finding({
    repositoryId: repo.id,
    agentId: 'guardian',
    kind: 'security',
    tool: 'eslint-security',
    rule: 'lvlup/sql-concatenation',
    severity: 'high',
    title: 'SQL built by concatenation',
    message: 'findUserQuery concatenates its argument into SQL',
    file: 'src/users.js',
    line: 12,
    fingerprint: randomUUID().replace(/-/g, ''),
    firstRunId: randomUUID(),
  });
  await em().persistAndFlush(finding);
  return finding;
}

/** A proposal for `findingId` requested over the API; answers its id once its workflow began it eligibly. */
async function proposeOverApi(findingId: string): Promise<string> {
  const res = await api.request('POST', '/api/proposals', { key: operator, body: { agentId: 'guardian', findingId } });
  expect(res.status).toBe(202);
  return (res.body as { proposalId: string }).proposalId;
}

const openProposals = async (): Promise<number> =>
  ((await api.request('GET', '/api/custody/eligibility/guardian', { key: operator })).body as { openProposals: number })
    .openProposals;

const reconcile = (): Promise<ReconcileResult> => {
  const input: ReconcileInput = { graceSeconds: 0, timeoutMs: 30_000 };
  return worker.client.workflow.execute(RECONCILE_WORKFLOW, {
    args: [input],
    taskQueue: worker.taskQueue,
    workflowId: `reconcile-test-${randomUUID()}`,
  });
};

async function cancelAndWait(handle: WorkflowHandle): Promise<void> {
  await handle.cancel();
  await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
}

it('a cancelled exam ends cancelled, applies nothing, and its agent can take a new exam at once', async () => {
  scriptHangingFakes();
  await resetAgent('imperium');
  const handle = await examAnswering('imperium');
  await cancelAndWait(handle);

  const exam = await em().findOneOrFail(Exam, { workflowId: handle.workflowId });
  expect(exam).toMatchObject({ status: 'cancelled', score: null, outcome: null, error: 'cancelled in Temporal' });
  expect(await em().findOneOrFail(Agent, { id: 'imperium' })).toMatchObject({
    xp: 40,
    examsTaken: 0,
    examsFailed: 0,
    consecutiveFailures: 0,
  });

  await cancelAndWait(await examAnswering('imperium'));
});

it('a cancelled proposal awaiting review ends cancelled: no longer open, and its finding can be proposed again', async () => {
  scriptHangingFakes();
  await resetAgent('guardian');
  const finding = await openFinding();
  const first = await proposeOverApi(finding.id);
  await proposalReaching(bed.orm, first, 'awaiting_review');
  expect(await openProposals()).toBe(1);

  await cancelAndWait(worker.client.workflow.getHandle(proposalWorkflowId(first)));
  expect(await proposalReaching(bed.orm, first, 'cancelled')).toMatchObject({ error: 'cancelled in Temporal' });
  expect(
    (await em().find(ProposalEvent, { proposalId: first }, { orderBy: { seq: 'desc' }, limit: 1 }))[0]?.state,
  ).toBe('cancelled');
  expect(await openProposals()).toBe(0);

  // The same finding again: eligible (its draft starts), not refused as "already has proposal".
  const second = await proposeOverApi(finding.id);
  await proposalReaching(bed.orm, second, 'awaiting_review');
  await cancelAndWait(worker.client.workflow.getHandle(proposalWorkflowId(second)));
  await proposalReaching(bed.orm, second, 'cancelled');
});

it('a cancelled agent run ends cancelled with the reason', async () => {
  scriptHangingFakes();
  const { handle, workflowId } = await guardianScanInTriage();
  await cancelAndWait(handle);
  expect(await em().findOneOrFail(AgentRun, { workflowId })).toMatchObject({
    status: 'cancelled',
    error: 'cancelled in Temporal',
  });
});

it('one reconciler run ends a terminated exam, proposal awaiting review and agent run with the real reason, and frees the agent', async () => {
  scriptHangingFakes();
  await resetAgent('sandbox');
  await resetAgent('guardian');
  const exam = await examAnswering('sandbox');
  const proposalId = await proposeOverApi((await openFinding()).id);
  await proposalReaching(bed.orm, proposalId, 'awaiting_review');
  const run = await guardianScanInTriage();

  // Running workflows are left alone.
  const ours = (r: ReconcileResult) =>
    r.ended.filter((e) => [exam.workflowId, proposalWorkflowId(proposalId), run.workflowId].includes(e.workflowId));
  expect(ours(await reconcile())).toEqual([]);

  await exam.terminate('operator test');
  await worker.client.workflow.getHandle(proposalWorkflowId(proposalId)).terminate('operator test');
  await run.handle.terminate('operator test');
  expect(await em().findOneOrFail(Exam, { workflowId: exam.workflowId })).toMatchObject({ status: 'running' });
  expect(
    (await api.request('POST', '/api/custody/tests', { key: operator, body: { agentId: 'sandbox' } })).status,
  ).toBe(409);

  const ended = ours(await reconcile());
  expect(ended).toEqual(
    expect.arrayContaining([
      expect.objectContaining({
        kind: 'exam',
        workflowId: exam.workflowId,
        status: 'cancelled',
        reason: 'terminated in Temporal',
      }),
      expect.objectContaining({
        kind: 'proposal',
        id: proposalId,
        status: 'cancelled',
        reason: 'terminated in Temporal',
      }),
      expect.objectContaining({
        kind: 'run',
        workflowId: run.workflowId,
        status: 'cancelled',
        reason: 'terminated in Temporal',
      }),
    ]),
  );
  expect(ended).toHaveLength(3);
  expect(await em().findOneOrFail(Exam, { workflowId: exam.workflowId })).toMatchObject({
    status: 'cancelled',
    score: null,
    outcome: null,
    error: 'terminated in Temporal',
  });
  expect(await em().findOneOrFail(Agent, { id: 'sandbox' })).toMatchObject({
    xp: 40,
    examsTaken: 0,
    consecutiveFailures: 0,
  });
  expect(await proposalReaching(bed.orm, proposalId, 'cancelled')).toMatchObject({ error: 'terminated in Temporal' });
  expect(await openProposals()).toBe(0);
  expect(await em().findOneOrFail(AgentRun, { workflowId: run.workflowId })).toMatchObject({
    status: 'cancelled',
    error: 'terminated in Temporal',
  });

  // Idempotent: a second run finds nothing left to end; the agent may take its next exam.
  expect(ours(await reconcile())).toEqual([]);
  await cancelAndWait(await examAnswering('sandbox'));
});

it('an exam past its workflow execution timeout is ended by the reconciler as timed out', async () => {
  scriptHangingFakes();
  await resetAgent('conquest');
  const input: CustodyExamInput = { agentId: 'conquest', trigger: 'api' };
  const handle = await worker.client.workflow.start(CUSTODY_EXAM_WORKFLOW, {
    args: [input],
    taskQueue: worker.taskQueue,
    workflowId: custodyWorkflowId('conquest', randomUUID()),
    workflowExecutionTimeout: '4s',
  });
  await reachStep(handle, 'answer');
  await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
  expect((await handle.describe()).status.name).toBe('TIMED_OUT');

  const { ended } = await reconcile();
  expect(ended.filter((e) => e.workflowId === handle.workflowId)).toEqual([
    expect.objectContaining({
      kind: 'exam',
      workflowId: handle.workflowId,
      status: 'cancelled',
      reason: expect.stringMatching(/^timed_out/),
    }),
  ]);
  expect(await em().findOneOrFail(Agent, { id: 'conquest' })).toMatchObject({ xp: 40, examsTaken: 0 });
});
