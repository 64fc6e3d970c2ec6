import { setTimeout as sleep } from 'node:timers/promises';
import type { EntityManager } from '@mikro-orm/postgresql';
import { TokenUsageEvent } from '../../src/db/entities';
import { budgetMonth } from '../../src/domain/llm';
import { LlmError } from '../../src/llm';
import { createLedger } from '../../src/llm/ledger';
import { usageTotals } from '../../src/llm/reports';
import { createLogger } from '../../src/logger';
import { createMetrics } from '../../src/metrics';
import { testConfig } from '../helpers/config';
import { testGateway, useLlmTestBed, verdictRequest } from '../helpers/llm';

const bed = useLlmTestBed();
beforeEach(async () => {
  bed.fakes.reset();
  await (bed.orm.em.fork() as EntityManager).execute(
    'truncate token_usage_events, llm_cache_entries, llm_budget_usage, llm_budget_reservations, llm_budgets, notifications',
  );
});

const ask = verdictRequest;
const inActivity = { workflowId: 'wf-ledger', runId: 'run-1', activityId: '3', attempt: 2, callSeq: 0 };

async function rows(): Promise<TokenUsageEvent[]> {
  return bed.orm.em.fork().find(TokenUsageEvent, {}, { orderBy: { id: 'asc' } });
}

it('writes the ledger row before the request is sent: a call whose answer never came is an unknown-outcome row at its estimate', async () => {
  const { llm } = testGateway(testConfig(bed.db.url, bed.fakes.env({ LLM_TIMEOUT_SECONDS: '4' })), bed.orm);
  bed.fakes.openai.when('[hang]', { hang: true });
  const call = llm.complete(ask('[hang]'), inActivity).catch((err: unknown) => err);
  while (bed.fakes.openai.requests.length === 0) await sleep(20);

  // The request is out and unanswered: what a worker killed now leaves behind.
  const [row, ...more] = await rows();
  expect(more).toEqual([]);
  expect(row).toMatchObject({
    outcome: 'unknown',
    workflowId: 'wf-ledger',
    activityId: '3',
    attempt: 2,
    outputTokens: 200,
    provider: 'openai',
  });
  expect(row?.inputTokens).toBeGreaterThan(0);
  expect(row?.costUsd).toBeGreaterThan(0);
  expect(row?.callKey).toBe('wf-ledger/run-1/3/2/0/openai:gpt-4o-mini/0');
  // Counted as spend in the totals the API and reports show.
  const [totals] = await usageTotals(bed.orm.em.fork() as EntityManager, budgetMonth(new Date()), 'all');
  expect(totals).toMatchObject({ calls: 1, inputTokens: row?.inputTokens, outputTokens: 200 });
  expect(totals?.costUsd).toBeCloseTo(row?.costUsd ?? 0, 6);

  // The call then ends (here: the provider deadline); the same row says how, no second row.
  expect(await call).toBeInstanceOf(LlmError);
  expect((await rows()).map((r) => [r.outcome, r.callKey])).toEqual([
    ['timeout', 'wf-ledger/run-1/3/2/0/openai:gpt-4o-mini/0'],
  ]);
}, 30_000);

it('completes the same row with the real usage when the provider answers', async () => {
  const { llm } = testGateway(testConfig(bed.db.url, bed.fakes.env()), bed.orm);
  bed.fakes.openai.when('[ok]', { json: { score: 80, passed: true }, usage: { input: 1000, output: 50 } });
  await llm.complete(ask('[ok]'), inActivity);
  expect((await rows()).map((r) => [r.outcome, r.inputTokens, r.outputTokens, r.callKey])).toEqual([
    ['ok', 1000, 50, 'wf-ledger/run-1/3/2/0/openai:gpt-4o-mini/0'],
  ]);
});

it('gives every call of one activity attempt its own row, and a row written twice for one call counts once', async () => {
  const { llm } = testGateway(testConfig(bed.db.url, bed.fakes.env()), bed.orm);
  bed.fakes.openai.when('[twice]', { json: { score: 60, passed: true }, usage: { input: 10, output: 5 } });
  await llm.complete(ask('[twice]'), { ...inActivity, callSeq: 0 });
  await llm.complete(ask('[twice]'), { ...inActivity, callSeq: 1 });
  expect((await rows()).map((r) => r.callKey)).toEqual([
    'wf-ledger/run-1/3/2/0/openai:gpt-4o-mini/0',
    'wf-ledger/run-1/3/2/1/openai:gpt-4o-mini/0',
  ]);

  const config = testConfig(bed.db.url);
  const ledger = createLedger({ orm: bed.orm, metrics: createMetrics(), logger: createLogger(config.log) });
  const entry = {
    agentId: undefined,
    purpose: 'p',
    provider: 'openai' as const,
    model: 'm',
    workflowId: 'w',
    activityId: '1',
    attempt: 1,
    inputTokens: 5,
    outputTokens: 5,
    costUsd: 0.01,
    latencyMs: 0,
    outcome: 'unknown' as const,
    callKey: 'w/r/1/1/0/openai:m/0',
  };
  await ledger.begin(entry);
  await ledger.begin(entry);
  expect((await rows()).filter((r) => r.callKey === entry.callKey)).toHaveLength(1);
});
