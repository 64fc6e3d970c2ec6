import type { EntityManager } from '@mikro-orm/postgresql';
import { TokenUsageEvent } from '../../src/db/entities';
import type { CallContext } from '../../src/llm';
import { testConfig } from '../helpers/config';
import { testGateway, useLlmTestBed, verdictRequest } from '../helpers/llm';

// A retried activity reuses an answer an earlier attempt settled and paid for — that one call, nothing else.

const bed = useLlmTestBed();
beforeEach(async () => {
  bed.fakes.reset();
  await (bed.orm.em.fork() as EntityManager).execute('truncate token_usage_events, llm_cache_entries, llm_budget_usage, llm_budget_reservations, llm_budgets');
});

const gateway = () => testGateway(testConfig(bed.db.url, bed.fakes.env()), bed.orm);
const ask = verdictRequest;
const attempt = (n: number, over: Partial<CallContext> = {}): CallContext => ({ workflowId: 'wf-reuse', runId: 'run-1', activityId: '4', attempt: n, callSeq: 0, ...over });
const rows = () => bed.orm.em.fork().find(TokenUsageEvent, {}, { orderBy: { id: 'asc' } });
const sent = () => bed.fakes.openai.requests.length + bed.fakes.anthropic.requests.length;

it('answers a retry from the settled row: no request, no new row, the answer and what it cost once', async () => {
  const { llm, metrics } = gateway();
  bed.fakes.openai.when('[once]', { json: { score: 80, passed: true }, usage: { input: 900, output: 40 } });
  const first = await llm.complete(ask('[once]'), attempt(1));
  const retry = await llm.complete(ask('[once]'), attempt(2));

  expect(sent()).toBe(1);
  expect(retry).toMatchObject({ output: { score: 80, passed: true }, provider: 'openai', usage: { inputTokens: 900, outputTokens: 40 }, reused: true, cacheHit: false });
  expect(retry.costUsd).toBe(first.costUsd);
  expect(retry.latencyMs).toBeGreaterThanOrEqual(Math.floor(first.latencyMs) - 1);
  expect((await rows()).map((r) => [r.outcome, r.attempt])).toEqual([['ok', 1]]);
  expect(await metrics.registry.getSingleMetricAsString('llm_reused_answers_total')).toMatch(/purpose="test.verdict"} 1/);
});

it('asks again what it was not already answered: another request at that place, another activity, another run, another call of the attempt', async () => {
  const { llm } = gateway();
  bed.fakes.openai.when('Grade this answer', { json: { score: 50, passed: false } });
  await llm.complete(ask('[a]'), attempt(1));
  await llm.complete(ask('[b]'), attempt(2));
  await llm.complete(ask('[a]'), attempt(2, { activityId: '5' }));
  await llm.complete(ask('[a]'), attempt(2, { runId: 'run-2' }));
  await llm.complete(ask('[a]'), attempt(2, { callSeq: 1 }));
  expect(sent()).toBe(5);
  expect((await rows()).filter((r) => r.outcome === 'ok')).toHaveLength(5);
});

it('reuses an answer only once it settled ok: a failed or unusable call is asked again', async () => {
  const { llm } = gateway();
  bed.fakes.openai.enqueue({ status: 503 });
  await expect(llm.complete(ask('[flaky]'), attempt(1, { workflowId: 'wf-flaky' }))).rejects.toThrow();
  bed.fakes.openai.when('[flaky]', { json: { score: 70, passed: true } });
  expect(await llm.complete(ask('[flaky]'), attempt(2, { workflowId: 'wf-flaky' }))).toMatchObject({ reused: false, output: { score: 70 } });
  expect(await llm.complete(ask('[flaky]'), attempt(3, { workflowId: 'wf-flaky' }))).toMatchObject({ reused: true, output: { score: 70 } });
  expect(bed.fakes.openai.requests).toHaveLength(2);
});

it('reuses the answer of a repair turn and of the fallback profile as they were', async () => {
  const { llm } = gateway();
  bed.fakes.openai.enqueue({ text: '{"score": 70, "passed": tru' }, { json: { score: 70, passed: true } });
  await llm.complete(ask('[repair]'), attempt(1, { activityId: 'r' }));
  expect(await llm.complete(ask('[repair]'), attempt(2, { activityId: 'r' }))).toMatchObject({ reused: true, repaired: true, output: { score: 70 } });

  bed.fakes.openai.enqueue({ status: 401 });
  bed.fakes.anthropic.enqueue({ json: { score: 55, passed: true } });
  await llm.complete(ask('[fallback]'), attempt(1, { activityId: 'f' }));
  expect(await llm.complete(ask('[fallback]'), attempt(2, { activityId: 'f' }))).toMatchObject({ reused: true, provider: 'anthropic', fallbackUsed: true, output: { score: 55 } });
  expect(sent()).toBe(4);
});
