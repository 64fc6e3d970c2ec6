import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  agentRunWorkflowId,
  SANDBOX_EXPERIMENT_WORKFLOW,
  type AgentRunInput,
  type ExperimentOutcome,
  type SandboxExperimentResult,
} from '../../src/contracts';
import { AgentRun, Finding } from '../../src/db/entities';
import { git } from '../../src/target';
import { startTestApi } from '../helpers/api';
import { testConfig } from '../helpers/config';
import { recordHistory } from '../helpers/histories';
import { useLlmTestBed } from '../helpers/llm';
import { createTestWorker } from '../helpers/worker';
import { processesWith } from '../sandbox/support';

const bed = useLlmTestBed();
const em = () => bed.orm.em.fork() as EntityManager;
let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'lvlup-experiment-'));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

const NEW_TEST = `'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { truncate } = require('../src/format');
test('truncate keeps short text', () => {
  assert.equal(truncate('abc', 10), 'abc');
});
`;

async function experiment(env: Record<string, string> = {}): Promise<SandboxExperimentResult> {
  const config = testConfig(
    bed.db.url,
    bed.fakes.env({ LLM_PROFILE_FALLBACK: '', ANTHROPIC_API_KEY: '', DATA_DIR: dataDir, ...env }),
  );
  const worker = await createTestWorker(config, bed.orm, { workflowsPath: require.resolve('../../workflows') });
  try {
    const input: AgentRunInput = { trigger: 'api', timeouts: { scanMs: 120_000, llmMs: 10_000, dbMs: 10_000 } };
    return await worker.run(() =>
      worker.client.workflow.execute(SANDBOX_EXPERIMENT_WORKFLOW, {
        args: [input],
        taskQueue: worker.taskQueue,
        workflowId: agentRunWorkflowId('sandbox-experiment', randomUUID()),
      }),
    );
  } finally {
    await worker.close();
  }
}

it("runs the target's tests in the sandbox and turns a passing, coverage-adding designed test into a finding", async () => {
  bed.fakes.reset();
  bed.fakes.openai.when('You are Sandbox', (req) => {
    expect(req.prompt).toContain('src/format.js');
    return { json: { file: 'test/format.test.js', content: NEW_TEST, rationale: 'src/format.js has no test at all.' } };
  });
  const result = await experiment();
  expect(result.tests).toMatchObject({ ok: true, tests: 21, pass: 21, fail: 0 });
  const outcome = result.experiment as ExperimentOutcome;
  expect(outcome).toMatchObject({ file: 'test/format.test.js', passed: true, coversNewModules: ['src/format.js'] });
  const finding = await em().findOneOrFail(Finding, { id: outcome.findingId ?? '' });
  expect(finding).toMatchObject({
    kind: 'experiment',
    agentId: 'sandbox',
    status: 'open',
    data: { content: NEW_TEST },
  });
  await recordHistory(
    (await em().findOneOrFail(AgentRun, { id: result.runId })).workflowId,
    'sandbox-experiment-finding',
  );
  // The designed test lived only in a throw-away worktree.
  expect(await git(path.join(dataDir, 'target'), ['status', '--porcelain'])).toBe('');

  const api = await startTestApi(testConfig(bed.db.url, { DATA_DIR: dataDir }));
  try {
    const viewer = await api.key('viewer');
    const one = await api.request('GET', `/api/sandbox/experiments/${result.runId}`, { key: viewer });
    expect(one.body).toMatchObject({
      kind: 'sandbox_experiment',
      status: 'completed',
      summary: { tests: { pass: 21 } },
    });
  } finally {
    await api.close();
  }
});

it('keeps a failing designed test out of the findings, and still runs the tests without a provider', async () => {
  bed.fakes.reset();
  bed.fakes.openai.when('You are Sandbox', {
    json: {
      file: 'test/wrong.test.js',
      content: NEW_TEST.replace("'abc', 10), 'abc'", "'abc', 10), 'abd'"),
      rationale: 'A wrong expectation.',
    },
  });
  const failing = await experiment();
  expect(failing.experiment).toMatchObject({ passed: false, findingId: null });

  const none = await experiment({ OPENAI_API_KEY: '', OPENAI_BASE_URL: '', LLM_PROFILE_PRIMARY: '' });
  expect(none.tests).toMatchObject({ ok: true, pass: 21 });
  expect(none.experiment).toMatchObject({ unavailable: expect.stringMatching(/LlmNotConfigured/) });
});

it('kills the running test command (its whole process tree) when the workflow is cancelled, instead of letting it run to SANDBOX_TIMEOUT_SECONDS', async () => {
  bed.fakes.reset();
  const token = `lvlup-cancel-${randomUUID().slice(0, 8)}`;
  const config = testConfig(
    bed.db.url,
    bed.fakes.env({
      LLM_PROFILE_FALLBACK: '',
      ANTHROPIC_API_KEY: '',
      DATA_DIR: dataDir,
      SANDBOX_TIMEOUT_SECONDS: '120',
      TARGET_TEST_CMD: `node -e "setInterval(() => 0, 1000)" ${token}`,
    }),
  );
  const worker = await createTestWorker(config, bed.orm, { workflowsPath: require.resolve('../../workflows') });
  try {
    const input: AgentRunInput = {
      trigger: 'api',
      timeouts: { scanMs: 180_000, llmMs: 10_000, dbMs: 10_000, heartbeatMs: 1000 },
    };
    await worker.run(async () => {
      const handle = await worker.client.workflow.start(SANDBOX_EXPERIMENT_WORKFLOW, {
        args: [input],
        taskQueue: worker.taskQueue,
        workflowId: agentRunWorkflowId('sandbox-experiment', randomUUID()),
      });
      const deadline = Date.now() + 60_000;
      while ((await processesWith(token)).length === 0) {
        if (Date.now() > deadline) throw new Error('the test command never started');
        await sleep(100);
      }
      await handle.cancel();
      await handle.result().catch(() => undefined);
      const killedBy = Date.now() + 8000;
      while ((await processesWith(token)).length > 0) {
        if (Date.now() > killedBy)
          throw new Error(
            `the sandboxed test command still runs 8 s after the cancel: ${(await processesWith(token)).join(', ')}`,
          );
        await sleep(100);
      }
      // Let the worker finish the cancelled activity before it stops.
      await sleep(500);
    });
  } finally {
    await worker.close();
  }
}, 120_000);

it('keeps one finding for a repeated experiment on the same test file and modules, and a dismissed one stays dismissed', async () => {
  bed.fakes.reset();
  let rationale = 'first look';
  bed.fakes.openai.when('You are Sandbox', () => ({
    json: { file: 'test/format-again.test.js', content: NEW_TEST, rationale },
  }));
  const first = (await experiment()).experiment as ExperimentOutcome;
  expect(first).toMatchObject({ passed: true, coversNewModules: ['src/format.js'], findingId: expect.any(String) });
  await em().nativeUpdate(Finding, { id: first.findingId ?? '' }, { status: 'dismissed' });

  rationale = 'second look';
  const second = (await experiment()).experiment as ExperimentOutcome;
  expect(second.findingId).toBe(first.findingId);
  const findings = await em().find(Finding, { kind: 'experiment', file: 'test/format-again.test.js' });
  expect(findings).toHaveLength(1);
  expect(findings[0]).toMatchObject({ status: 'dismissed', message: 'second look' });
});
