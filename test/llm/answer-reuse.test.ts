import type { EntityManager } from '@mikro-orm/postgresql';
import { TokenUsageEvent } from '../../src/db/entities';
import { createLlmGateway, type CallContext } from '../../src/llm';
import { createLogger } from '../../src/logger';
import { createMetrics } from '../../src/metrics';
import type { FakeReply } from '../fakes/llm-servers';
import { testConfig } from '../helpers/config';
import { testGateway, useLlmTestBed, verdictRequest } from '../helpers/llm';

// A retried activity reuses an answer an earlier attempt settled and paid for — that one call, nothing else.

const bed = useLlmTestBed();
beforeEach(async () => {
  bed.fakes.reset();
  await (bed.orm.em.fork() as EntityManager).execute(
    'truncate token_usage_events, llm_cache_entries, llm_budget_usage, llm_budget_reservations, llm_budgets',
  );
});

const gateway = () => testGateway(testConfig(bed.db.url, bed.fakes.env()), bed.orm);
const ask = verdictRequest;
const attempt = (n: number, over: Partial<CallContext> = {}): CallContext => ({
  workflowId: 'wf-reuse',
  runId: 'run-1',
  activityId: '4',
  attempt: n,
  callSeq: 0,
  ...over,
});
const rows = () => bed.orm.em.fork().find(TokenUsageEvent, {}, { orderBy: { id: 'asc' } });
const sent = () => bed.fakes.openai.requests.length + bed.fakes.anthropic.requests.length;

it('answers a retry from the settled row: no request, no new row, the answer and what it cost once', async () => {
  const { llm, metrics } = gateway();
  bed.fakes.openai.when('[once]', { json: { score: 80, passed: true }, usage: { input: 900, output: 40 } });
  const first = await llm.complete(ask('[once]'), attempt(1));
  const retry = await llm.complete(ask('[once]'), attempt(2));

  expect(sent()).toBe(1);
  expect(retry).toMatchObject({
    output: { score: 80, passed: true },
    provider: 'openai',
    usage: { inputTokens: 900, outputTokens: 40 },
    reused: true,
    cacheHit: false,
  });
  expect(retry.costUsd).toBe(first.costUsd);
  expect(retry.latencyMs).toBeGreaterThanOrEqual(Math.floor(first.latencyMs) - 1);
  expect((await rows()).map((r) => [r.outcome, r.attempt])).toEqual([['ok', 1]]);
  expect(await metrics.registry.getSingleMetricAsString('llm_reused_answers_total')).toMatch(
    /purpose="test.verdict"} 1/,
  );
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
  expect(await llm.complete(ask('[flaky]'), attempt(2, { workflowId: 'wf-flaky' }))).toMatchObject({
    reused: false,
    output: { score: 70 },
  });
  expect(await llm.complete(ask('[flaky]'), attempt(3, { workflowId: 'wf-flaky' }))).toMatchObject({
    reused: true,
    output: { score: 70 },
  });
  expect(bed.fakes.openai.requests).toHaveLength(2);
});

it('reuses the answer of a repair turn and of the fallback profile as they were', async () => {
  const { llm } = gateway();
  bed.fakes.openai.enqueue({ text: '{"score": 70, "passed": tru' }, { json: { score: 70, passed: true } });
  await llm.complete(ask('[repair]'), attempt(1, { activityId: 'r' }));
  expect(await llm.complete(ask('[repair]'), attempt(2, { activityId: 'r' }))).toMatchObject({
    reused: true,
    repaired: true,
    output: { score: 70 },
  });

  bed.fakes.openai.enqueue({ status: 401 });
  bed.fakes.anthropic.enqueue({ json: { score: 55, passed: true } });
  await llm.complete(ask('[fallback]'), attempt(1, { activityId: 'f' }));
  expect(await llm.complete(ask('[fallback]'), attempt(2, { activityId: 'f' }))).toMatchObject({
    reused: true,
    provider: 'anthropic',
    fallbackUsed: true,
    output: { score: 55 },
  });
  expect(sent()).toBe(4);
});

describe('a retry that finds the call still in flight on a live worker', () => {
  // Short stamps so a test outlives several of them: a request stamped every 100 ms is live; one not stamped for 600 ms is a dead worker's.
  const watched = (inFlight: { stampMs: number; staleMs: number; pollMs: number }) => {
    const config = testConfig(bed.db.url, bed.fakes.env());
    return createLlmGateway({
      config,
      orm: bed.orm,
      logger: createLogger(config.log),
      metrics: createMetrics(),
      inFlight,
    });
  };
  const live = { stampMs: 100, staleMs: 600, pollMs: 50 };
  const held = () => {
    let release!: (reply: FakeReply) => void;
    const until = new Promise<FakeReply>((resolve) => (release = resolve));
    return { until, release };
  };
  const received = async (n: number) => {
    for (let i = 0; i < 200 && sent() < n; i++) await new Promise((r) => setTimeout(r, 25));
    expect(sent()).toBe(n);
  };

  it('waits for that answer and reuses it: one request, one ok row (Temporal gave up on an attempt its worker was still running)', async () => {
    const llm = watched(live);
    const first = held();
    bed.fakes.openai.when('[in flight]', { until: first.until });
    const attempt1 = llm.complete(ask('[in flight]'), attempt(1, { workflowId: 'wf-live' }));
    await received(1);
    const attempt2 = llm.complete(ask('[in flight]'), attempt(2, { workflowId: 'wf-live' }));
    // Longer than the stale window: the first request's stamps keep it live.
    await new Promise((r) => setTimeout(r, 1500));
    expect(sent()).toBe(1);
    first.release({ json: { score: 64, passed: true }, usage: { input: 500, output: 20 } });
    const [one, two] = await Promise.all([attempt1, attempt2]);
    expect(two).toMatchObject({
      reused: true,
      output: { score: 64, passed: true },
      usage: { inputTokens: 500, outputTokens: 20 },
    });
    expect(two.costUsd).toBe(one.costUsd);
    expect(sent()).toBe(1);
    expect((await rows()).map((r) => [r.outcome, r.attempt])).toEqual([['ok', 1]]);
  });

  it('sends once the request in flight stops being stamped (its worker died), and when it fails', async () => {
    // The first gateway never stamps within the window: to the second, its row is a dead worker's.
    const dead = watched({ stampMs: 60_000, staleMs: 600, pollMs: 50 });
    const llm = watched(live);
    const first = held();
    let n = 0;
    bed.fakes.openai.when('[dead]', () =>
      n++ === 0 ? { until: first.until } : { json: { score: 30, passed: false } },
    );
    const attempt1 = dead.complete(ask('[dead]'), attempt(1, { workflowId: 'wf-dead' }));
    await received(1);
    expect(await llm.complete(ask('[dead]'), attempt(2, { workflowId: 'wf-dead' }))).toMatchObject({
      reused: false,
      output: { score: 30 },
    });
    expect(sent()).toBe(2);
    first.release({ json: { score: 31, passed: false } });
    await attempt1;

    const failing = held();
    let m = 0;
    bed.fakes.openai.when('[fails]', () =>
      m++ === 0 ? { until: failing.until } : { json: { score: 40, passed: false } },
    );
    const attempt1b = llm.complete(ask('[fails]'), attempt(1, { workflowId: 'wf-fails' }));
    await received(3);
    const attempt2b = llm.complete(ask('[fails]'), attempt(2, { workflowId: 'wf-fails' }));
    await new Promise((r) => setTimeout(r, 300));
    expect(sent()).toBe(3);
    // Refused by the provider (and by the unscripted fallback): the waiting retry asks the call again.
    failing.release({ status: 400, message: 'bad request' });
    await expect(attempt1b).rejects.toThrow();
    expect(await attempt2b).toMatchObject({ reused: false, output: { score: 40 } });
    expect(bed.fakes.openai.requests).toHaveLength(4);
  });

  it('stops waiting, and sends nothing, when its own caller gives up', async () => {
    const llm = watched(live);
    const first = held();
    bed.fakes.openai.when('[abandoned]', { until: first.until });
    const attempt1 = llm.complete(ask('[abandoned]'), attempt(1, { workflowId: 'wf-abandoned' }));
    await received(1);
    await expect(
      llm.complete(ask('[abandoned]'), attempt(2, { workflowId: 'wf-abandoned', signal: AbortSignal.timeout(300) })),
    ).rejects.toThrow(/timeout|abort/i);
    expect(sent()).toBe(1);
    first.release({ json: { score: 90, passed: true } });
    await attempt1;
  });
});
