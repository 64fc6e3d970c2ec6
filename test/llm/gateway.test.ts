import { z } from 'zod';
import type { EntityManager } from '@mikro-orm/postgresql';
import { TokenUsageEvent } from '../../src/db/entities';
import { LlmError, type LlmGateway } from '../../src/llm';
import { testConfig } from '../helpers/config';
import { testGateway, useLlmTestBed } from '../helpers/llm';

const Verdict = z.object({ score: z.number().min(0).max(100), passed: z.boolean() });

const bed = useLlmTestBed();
beforeEach(async () => {
  bed.fakes.reset();
  await (bed.orm.em.fork() as EntityManager).execute(
    'truncate token_usage_events, llm_cache_entries, llm_budget_usage, llm_budget_reservations, llm_budgets, notifications',
  );
});

function gateway(env: Record<string, string> = {}): LlmGateway {
  return testGateway(testConfig(bed.db.url, bed.fakes.env({ LLM_TIMEOUT_SECONDS: '1', ...env })), bed.orm).llm;
}

async function ledger(): Promise<TokenUsageEvent[]> {
  return bed.orm.em.fork().find(TokenUsageEvent, {}, { orderBy: { id: 'asc' } });
}

async function failure(p: Promise<unknown>): Promise<LlmError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof LlmError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

const ask = (marker: string, extra: Partial<Parameters<LlmGateway['complete']>[0]> = {}) => ({
  purpose: 'test.verdict',
  messages: [
    { role: 'system' as const, content: 'You grade answers.' },
    { role: 'user' as const, content: `Grade this answer. ${marker}` },
  ],
  schema: Verdict,
  maxTokens: 200,
  temperature: 0,
  ...extra,
});

describe('structured output', () => {
  it('sends a json_schema response format through the OpenAI SDK and returns the parsed object with usage and cost', async () => {
    bed.fakes.openai.when('[ok]', { json: { score: 90, passed: true }, usage: { input: 1000, output: 200 } });
    const result = await gateway().complete(ask('[ok]', { agentId: 'guardian' }), {
      workflowId: 'wf-1',
      activityId: '7',
      attempt: 1,
    });

    expect(result).toMatchObject({
      output: { score: 90, passed: true },
      provider: 'openai',
      model: 'gpt-4o-mini',
      cacheHit: false,
      fallbackUsed: false,
      repaired: false,
    });
    expect(result.usage).toEqual({ inputTokens: 1000, outputTokens: 200 });
    expect(result.costUsd).toBeCloseTo((1000 * 0.15 + 200 * 0.6) / 1e6, 9);
    const sent = bed.fakes.openai.requests[0]?.body;
    expect(sent).toMatchObject({
      model: 'gpt-4o-mini',
      max_tokens: 200,
      response_format: { type: 'json_schema', json_schema: { name: 'test_verdict' } },
    });
    expect(bed.fakes.openai.requests[0]?.schema).toMatchObject({ type: 'object', required: ['score', 'passed'] });

    const [row] = await ledger();
    expect(row).toMatchObject({
      agentId: 'guardian',
      purpose: 'test.verdict',
      provider: 'openai',
      model: 'gpt-4o-mini',
      workflowId: 'wf-1',
      activityId: '7',
      attempt: 1,
      inputTokens: 1000,
      outputTokens: 200,
      outcome: 'ok',
      cacheHit: false,
    });
    expect(row?.costUsd).toBeCloseTo(0.00027, 9);
  });

  it('asks Anthropic through a forced tool call and reads the tool input', async () => {
    bed.fakes.anthropic.when('[tool]', { json: { score: 40, passed: false } });
    const result = await gateway().complete(ask('[tool]', { profile: 'anthropic:claude-3-5-haiku-latest' }));
    expect(result).toMatchObject({ output: { score: 40, passed: false }, provider: 'anthropic' });
    const body = bed.fakes.anthropic.requests[0]?.body;
    expect(body).toMatchObject({
      system: 'You grade answers.',
      tool_choice: { type: 'tool', name: 'test_verdict' },
      max_tokens: 200,
    });
    expect(body?.messages).toEqual([{ role: 'user', content: 'Grade this answer. [tool]' }]);
  });

  it('repairs malformed JSON once, telling the model what was wrong', async () => {
    bed.fakes.openai.enqueue({ text: '{"score": 70, "passed": tru' }, { json: { score: 70, passed: true } });
    const result = await gateway().complete(ask('[repair]'));
    expect(result).toMatchObject({ output: { score: 70, passed: true }, repaired: true });
    const repair = bed.fakes.openai.requests[1]?.body.messages as Array<{ role: string; content: string }>;
    expect(repair.at(-2)).toEqual({ role: 'assistant', content: '{"score": 70, "passed": tru' });
    expect(repair.at(-1)?.content).toMatch(/not valid JSON/);
    expect((await ledger()).map((r) => r.outcome)).toEqual(['bad_output', 'ok']);
  });

  it('repairs JSON of the wrong shape and fails non-retryably with LlmBadOutput when the repair is wrong too', async () => {
    bed.fakes.openai.enqueue({ json: { score: 'high' } }, { json: { score: 500, passed: true } });
    const err = await failure(gateway({ LLM_PROFILE_FALLBACK: '', ANTHROPIC_API_KEY: '' }).complete(ask('[wrong]')));
    expect(err).toMatchObject({ type: 'LlmBadOutput', retryable: false });
    expect(err.message).toMatch(/score/);
    expect((bed.fakes.openai.requests[1]?.body.messages as Array<{ content: string }>).at(-1)?.content).toMatch(
      /does not match the schema/,
    );
  });

  it('returns plain text when no schema is given', async () => {
    bed.fakes.openai.when('[text]', { text: 'Plain words.' });
    const result = await gateway().complete({
      purpose: 'chat',
      messages: [{ role: 'user', content: '[text]' }],
      maxTokens: 50,
      temperature: 0.2,
    });
    expect(result.output).toBe('Plain words.');
    expect(bed.fakes.openai.requests[0]?.body.response_format).toBeUndefined();
  });
});

describe('error classification', () => {
  const solo = () => gateway({ LLM_PROFILE_FALLBACK: '', ANTHROPIC_API_KEY: '' });

  it('makes a 429 retryable and carries its retry-after', async () => {
    bed.fakes.openai.enqueue({ status: 429, retryAfter: 7 });
    const err = await failure(solo().complete(ask('[429]')));
    expect(err).toMatchObject({ type: 'LlmRateLimited', retryable: true, retryAfterMs: 7000 });
    expect((await ledger())[0]).toMatchObject({ outcome: 'rate_limited', inputTokens: 0, costUsd: 0 });
  });

  it('makes 500s and unreadable bodies retryable', async () => {
    bed.fakes.openai.enqueue({ status: 500 }, { rawBody: '{"choices": [' });
    expect(await failure(solo().complete(ask('[500]')))).toMatchObject({
      type: 'LlmProviderUnavailable',
      retryable: true,
    });
    expect(await failure(solo().complete(ask('[raw]')))).toMatchObject({
      type: 'LlmProviderUnavailable',
      retryable: true,
    });
  });

  it('makes a hang past the timeout a retryable LlmTimeout', async () => {
    bed.fakes.openai.enqueue({ hang: true });
    const started = Date.now();
    const e = await failure(solo().complete(ask('[hang]')));
    expect(e).toMatchObject({ type: 'LlmTimeout', retryable: true });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it.each([400, 401, 403, 404])('makes %i non-retryable', async (status) => {
    bed.fakes.openai.enqueue({ status });
    expect(await failure(solo().complete(ask(`[${status}]`)))).toMatchObject({
      type: 'LlmRequestRejected',
      retryable: false,
      opts: { status },
    });
  });

  it('classifies Anthropic failures the same way: 529 overloaded, out of credit, hang', async () => {
    const claudeOnly = () =>
      gateway({
        LLM_PROFILE_PRIMARY: 'anthropic:claude-3-5-haiku-latest',
        LLM_PROFILE_FALLBACK: '',
        OPENAI_API_KEY: '',
        OPENAI_BASE_URL: '',
      });
    bed.fakes.anthropic.enqueue(
      { status: 529, retryAfter: 3 },
      { status: 400, message: 'Your credit balance is too low to access the Anthropic API.' },
      { hang: true },
    );
    expect(await failure(claudeOnly().complete(ask('[529]')))).toMatchObject({
      type: 'LlmProviderUnavailable',
      retryable: true,
      retryAfterMs: 3000,
    });
    expect(await failure(claudeOnly().complete(ask('[credit]')))).toMatchObject({
      type: 'LlmQuotaExhausted',
      retryable: false,
    });
    expect(await failure(claudeOnly().complete(ask('[hang]')))).toMatchObject({ type: 'LlmTimeout', retryable: true });
  });

  it('fails fast with LlmNotConfigured naming the variables to set when no provider is configured', async () => {
    const none = testGateway(testConfig(bed.db.url), bed.orm).llm;
    expect(none.configured).toBe(false);
    const err = await failure(none.complete(ask('[none]')));
    expect(err).toMatchObject({ type: 'LlmNotConfigured', retryable: false });
    expect(err.message).toMatch(/OPENAI_API_KEY.*ANTHROPIC_API_KEY/);
  });
});

describe('fallback', () => {
  it('answers from the fallback profile when the primary refuses the request', async () => {
    bed.fakes.openai.enqueue({ status: 401 });
    bed.fakes.anthropic.enqueue({ json: { score: 55, passed: true } });
    const result = await gateway().complete(ask('[fallback]'));
    expect(result).toMatchObject({ provider: 'anthropic', fallbackUsed: true, output: { score: 55 } });
    expect((await ledger()).map((r) => `${r.provider}:${r.outcome}`)).toEqual(['openai:rejected', 'anthropic:ok']);
  });

  it('falls back when the provider account is out of quota', async () => {
    bed.fakes.openai.enqueue({ status: 429, code: 'insufficient_quota', message: 'You exceeded your current quota' });
    bed.fakes.anthropic.enqueue({ json: { score: 1, passed: false } });
    expect(await gateway().complete(ask('[quota]'))).toMatchObject({ provider: 'anthropic', fallbackUsed: true });
  });

  it('leaves a transient failure to Temporal, until the activity has been retried enough times', async () => {
    bed.fakes.openai.when('[flaky]', { status: 503 });
    bed.fakes.anthropic.when('[flaky]', { json: { score: 2, passed: false } });
    expect(await failure(gateway().complete(ask('[flaky]'), { attempt: 1 }))).toMatchObject({
      type: 'LlmProviderUnavailable',
    });
    expect(bed.fakes.anthropic.requests).toHaveLength(0);
    expect(await gateway().complete(ask('[flaky]'), { attempt: 3 })).toMatchObject({
      provider: 'anthropic',
      fallbackUsed: true,
    });
  });

  it('falls back when the primary provider budget is exhausted', async () => {
    await setBudget('provider:openai', 10);
    bed.fakes.anthropic.enqueue({ json: { score: 3, passed: false } });
    expect(await gateway().complete(ask('[provider-budget]'))).toMatchObject({
      provider: 'anthropic',
      fallbackUsed: true,
    });
    expect(bed.fakes.openai.requests).toHaveLength(0);
  });
});

describe("the caller's deadline", () => {
  it("replaces LLM_TIMEOUT_SECONDS with the request's own timeoutMs", async () => {
    bed.fakes.openai.enqueue({ json: { score: 80, passed: true }, delayMs: 1500 });
    // The configured timeout is 1 s; this call may take 4 s (an exam answer gets its time limit).
    expect(await gateway().complete(ask('[long]', { timeoutMs: 4000 }))).toMatchObject({
      output: { score: 80 },
      fallbackUsed: false,
    });
  });

  it("aborts the request in flight on the caller's signal, rethrown as the abort, not a provider timeout; ledgered aborted, no fallback", async () => {
    bed.fakes.openai.enqueue({ hang: true });
    bed.fakes.anthropic.enqueue({ json: { score: 1, passed: false } });
    const err = await gateway()
      .complete(ask('[abort]', { timeoutMs: 5000 }), { attempt: 9, signal: AbortSignal.timeout(300) })
      .catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(LlmError);
    expect(bed.fakes.openai.requests[0]?.abortedAt).toBeDefined();
    expect(bed.fakes.anthropic.requests).toHaveLength(0);
    expect((await ledger()).map((r) => `${r.provider}:${r.outcome}`)).toEqual(['openai:aborted']);
  });

  it('sends nothing, to the primary or the fallback, once the signal has aborted', async () => {
    await expect(gateway().complete(ask('[aborted]'), { attempt: 9, signal: AbortSignal.abort() })).rejects.toThrow();
    expect([...bed.fakes.openai.requests, ...bed.fakes.anthropic.requests]).toHaveLength(0);
    expect(await ledger()).toHaveLength(0);
  });
});

describe('cache', () => {
  it('answers an identical request from the cache, ledgered at zero cost, and misses when anything differs', async () => {
    bed.fakes.openai.respond(() => ({ json: { score: 10, passed: false } }));
    const llm = gateway();
    await llm.complete(ask('[cache]'));
    const hit = await llm.complete(ask('[cache]'));
    expect(hit).toMatchObject({
      cacheHit: true,
      costUsd: 0,
      usage: { inputTokens: 0, outputTokens: 0 },
      output: { score: 10 },
    });
    await llm.complete(ask('[cache]', { temperature: 0.5 }));
    await llm.complete(ask('[cache]', { maxTokens: 201 }));
    expect(bed.fakes.openai.requests).toHaveLength(3);
    expect((await ledger()).map((r) => [r.outcome, r.cacheHit, r.costUsd])).toEqual([
      ['ok', false, expect.any(Number)],
      ['cache_hit', true, 0],
      ['ok', false, expect.any(Number)],
      ['ok', false, expect.any(Number)],
    ]);
  });

  it('shares answers between processes through PostgreSQL when there is no Redis', async () => {
    bed.fakes.openai.enqueue({ json: { score: 11, passed: false } });
    await gateway().complete(ask('[shared]'));
    const other = await gateway().complete(ask('[shared]'));
    expect(other).toMatchObject({ cacheHit: true, output: { score: 11 } });
    expect(bed.fakes.openai.requests).toHaveLength(1);
  });

  it('does not cache a purpose whose TTL is 0, nor a call that opts out', async () => {
    bed.fakes.openai.respond(() => ({ json: { score: 12, passed: false } }));
    const llm = gateway({ LLM_CACHE_TTLS: 'test.verdict=0' });
    await llm.complete(ask('[nocache]'));
    await llm.complete(ask('[nocache]'));
    const other = gateway();
    await other.complete(ask('[optout]', { cacheTtlSeconds: 0 }));
    await other.complete(ask('[optout]', { cacheTtlSeconds: 0 }));
    expect(bed.fakes.openai.requests).toHaveLength(4);
  });
});

describe('rate limits', () => {
  it('refuses the request past the per-minute limit with a retryable delay until the window resets', async () => {
    bed.fakes.openai.respond(() => ({ text: 'ok' }));
    const llm = gateway({ LLM_OPENAI_RPM: '2' });
    const plain = (n: number) => ({
      purpose: 'chat',
      messages: [{ role: 'user' as const, content: `rpm ${n}` }],
      maxTokens: 10,
      temperature: 0,
    });
    await llm.complete(plain(1));
    await llm.complete(plain(2));
    const err = await failure(llm.complete(plain(3)));
    expect(err).toMatchObject({ type: 'LlmRateLimited', retryable: true });
    expect(err.retryAfterMs).toBeGreaterThan(0);
    expect(err.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(bed.fakes.openai.requests).toHaveLength(2);
  });

  it('limits tokens per minute on the estimate of each request', async () => {
    bed.fakes.openai.respond(() => ({ text: 'ok' }));
    const llm = gateway({ LLM_OPENAI_TPM: '300' });
    const big = (n: number) => ({
      purpose: 'chat',
      messages: [{ role: 'user' as const, content: `tpm ${n}` }],
      maxTokens: 200,
      temperature: 0,
    });
    await llm.complete(big(1));
    expect(await failure(llm.complete(big(2)))).toMatchObject({ type: 'LlmRateLimited' });
  });
});

async function setBudget(scope: string, monthlyTokens: number | null, monthlyUsd: number | null = null): Promise<void> {
  await (bed.orm.em.fork() as EntityManager).execute(
    `insert into llm_budgets (scope, monthly_tokens, monthly_usd, updated_at) values (?, ?, ?, now())
     on conflict (scope) do update set monthly_tokens = excluded.monthly_tokens, monthly_usd = excluded.monthly_usd`,
    [scope, monthlyTokens, monthlyUsd],
  );
}
