import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { TokenUsageEvent } from '../../src/db/entities';
import type { LlmCompleteInput } from '../../src/contracts';
import { testConfig } from '../helpers/config';
import { useLlmTestBed } from '../helpers/llm';
import { createTestWorker, type TestWorker } from '../helpers/worker';

const WORKFLOWS = require.resolve('../fixtures/llm.workflows');
const bed = useLlmTestBed();

const input = (marker: string): LlmCompleteInput<'judge.verdict'> => ({
  agentId: 'imperium',
  purpose: 'exam.grade',
  messages: [{ role: 'user', content: `Grade: ${marker}` }],
  schema: 'judge.verdict',
  maxTokens: 300,
});

async function run(worker: TestWorker, id: string, args: unknown) {
  return worker.run(() =>
    worker.client.workflow
      .execute('llmProbeWorkflow', {
        args: [args],
        taskQueue: worker.taskQueue,
        workflowId: `${id}-${worker.taskQueue}`,
      })
      .catch((err: unknown) => err),
  );
}

/** The ApplicationFailure behind a failed workflow's activity failure. */
function appFailure(err: unknown): ApplicationFailure {
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const activity = (err as WorkflowFailedError).cause;
  expect(activity).toBeInstanceOf(ActivityFailure);
  expect(activity?.cause).toBeInstanceOf(ApplicationFailure);
  return activity?.cause as ApplicationFailure;
}

it("retries a 429 after the provider's retry-after, not the workflow's shorter backoff, and ledgers both calls", async () => {
  const worker = await createTestWorker(testConfig(bed.db.url, bed.fakes.env()), bed.orm, { workflowsPath: WORKFLOWS });
  try {
    bed.fakes.openai.enqueue(
      { status: 429, retryAfter: 2 },
      { json: { score: 88, passed: true, reasoning: 'clear and correct' } },
    );
    const result = await run(worker, 'llm-429', input('[429-then-ok]'));
    expect(result).toMatchObject({ output: { score: 88, passed: true }, provider: 'openai', cacheHit: false });
    const [first, second] = bed.fakes.openai.requests;
    expect((second?.receivedAt ?? 0) - (first?.receivedAt ?? 0)).toBeGreaterThanOrEqual(1900);
    const rows = await bed.orm.em.fork().find(TokenUsageEvent, { purpose: 'exam.grade' }, { orderBy: { id: 'asc' } });
    expect(rows.map((r) => [r.outcome, r.attempt])).toEqual([
      ['rate_limited', 1],
      ['ok', 2],
    ]);
    expect(rows[1]?.workflowId).toBe(`llm-429-${worker.taskQueue}`);
    expect(rows[1]?.activityId).toEqual(expect.any(String));
  } finally {
    await worker.close();
  }
});

it('fails the workflow at once with a non-retryable LlmNotConfigured when no provider is configured', async () => {
  const worker = await createTestWorker(testConfig(bed.db.url), bed.orm, { workflowsPath: WORKFLOWS });
  try {
    const failure = appFailure(await run(worker, 'llm-none', input('[none]')));
    expect(failure.type).toBe('LlmNotConfigured');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/OPENAI_API_KEY/);
  } finally {
    await worker.close();
  }
});

it('rejects invalid input as a non-retryable LlmInvalidRequest', async () => {
  const worker = await createTestWorker(testConfig(bed.db.url, bed.fakes.env()), bed.orm, { workflowsPath: WORKFLOWS });
  try {
    const failure = appFailure(
      await run(worker, 'llm-invalid', { ...input('[bad]'), maxTokens: 0, schema: 'no.such.schema' }),
    );
    expect(failure.type).toBe('LlmInvalidRequest');
    expect(failure.message).toMatch(/maxTokens/);
    expect(failure.message).toMatch(/schema/);
  } finally {
    await worker.close();
  }
});
