import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import type { LlmCompleteInput } from '../../src/contracts';
import { TokenUsageEvent } from '../../src/db/entities';
import { activityTimeouts } from '../../src/temporal/activity-timeouts';
import { testConfig } from '../helpers/config';
import { useLlmTestBed } from '../helpers/llm';
import { createTestWorker } from '../helpers/worker';

const WORKFLOWS = require.resolve('../fixtures/llm.workflows');
const bed = useLlmTestBed();
beforeEach(() => bed.fakes.reset());

const input = (marker: string): LlmCompleteInput<'judge.verdict'> => ({
  agentId: 'imperium',
  purpose: 'exam.grade',
  messages: [{ role: 'user', content: `Grade: ${marker}` }],
  schema: 'judge.verdict',
  maxTokens: 300,
  cacheTtlSeconds: 0,
});

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

it('keeps a slow provider call alive by heartbeats: one provider request, no retry while it runs', async () => {
  // A 1 s heartbeat timeout and a provider that takes 4 s: without heartbeats the attempt would be declared dead
  // after 1 s and retried (a second paid request) while the first one still runs.
  const config = testConfig(
    bed.db.url,
    bed.fakes.env({ LLM_TIMEOUT_SECONDS: '20', ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS: '1' }),
  );
  const worker = await createTestWorker(config, bed.orm, { workflowsPath: WORKFLOWS });
  try {
    bed.fakes.openai.when('[slow]', { json: { score: 71, passed: true, reasoning: 'slow but right' }, delayMs: 4000 });
    const result = await worker.run(() =>
      worker.client.workflow.execute('llmTimedProbeWorkflow', {
        args: [input('[slow]'), activityTimeouts(config)],
        taskQueue: worker.taskQueue,
        workflowId: `hb-slow-${worker.taskQueue}`,
      }),
    );
    expect(result).toMatchObject({ output: { score: 71 } });
    expect(bed.fakes.openai.requests).toHaveLength(1);
    const rows = await bed.orm.em.fork().find(TokenUsageEvent, { workflowId: `hb-slow-${worker.taskQueue}` });
    expect(rows.map((r) => [r.outcome, r.attempt])).toEqual([['ok', 1]]);
  } finally {
    await worker.close();
  }
}, 60_000);

it('aborts the in-flight provider request when the workflow is cancelled (the fake provider sees the connection closed)', async () => {
  const config = testConfig(
    bed.db.url,
    bed.fakes.env({ LLM_TIMEOUT_SECONDS: '60', ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS: '1' }),
  );
  const worker = await createTestWorker(config, bed.orm, { workflowsPath: WORKFLOWS });
  try {
    bed.fakes.openai.when('[never]', { hang: true });
    const workflowId = `hb-cancel-${worker.taskQueue}`;
    await worker.run(async () => {
      const handle = await worker.client.workflow.start('llmTimedProbeWorkflow', {
        args: [input('[never]'), activityTimeouts(config)],
        taskQueue: worker.taskQueue,
        workflowId,
      });
      await until('the provider request', () => bed.fakes.openai.requests.length === 1);
      const cancelledAt = Date.now();
      await handle.cancel();
      const outcome = await handle.result().catch((err: unknown) => err);
      expect(outcome).toBeInstanceOf(WorkflowFailedError);
      expect((outcome as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
      // Delivered with the next heartbeat's answer (the SDK sends at most every 0.8 × the 1 s timeout).
      await until(
        'the provider connection to close',
        () => bed.fakes.openai.requests[0]?.abortedAt !== undefined,
        5000,
      );
      expect((bed.fakes.openai.requests[0]?.abortedAt ?? Infinity) - cancelledAt).toBeLessThan(5000);
      // Give the worker time to settle the aborted activity before it stops.
      await sleep(300);
    });
    expect(bed.fakes.openai.requests).toHaveLength(1);
  } finally {
    await worker.close();
  }
}, 60_000);
