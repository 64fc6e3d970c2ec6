import { Writable } from 'node:stream';
import type { EntityManager } from '@mikro-orm/postgresql';
import winston from 'winston';
import { TokenUsageEvent } from '../../src/db/entities';
import { budgetMonth } from '../../src/domain/llm';
import { createLlmGateway, type LlmRequest } from '../../src/llm';
import { usageTotals } from '../../src/llm/reports';
import { createLogger } from '../../src/logger';
import { createMetrics } from '../../src/metrics';
import { presentEvent, presentTotals } from '../../src/api/routes/token-usage/presenter';
import { configProblems, testConfig } from '../helpers/config';
import { useLlmTestBed } from '../helpers/llm';

const bed = useLlmTestBed();
beforeEach(async () => {
  bed.fakes.reset();
  await em().execute(
    'truncate token_usage_events, llm_cache_entries, llm_budget_usage, llm_budget_reservations, llm_budgets, notifications',
  );
});

const em = () => bed.orm.em.fork() as EntityManager;
const request = (n: number): LlmRequest<string> => ({
  agentId: 'sandbox',
  purpose: 'costs.test',
  messages: [{ role: 'user', content: `question ${n}` }],
  maxTokens: 100,
  temperature: 0,
  cacheTtlSeconds: 0,
});

/** A gateway on the fake OpenAI server alone, with the warnings it logs collected in `warnings`. */
function gateway(env: Record<string, string>) {
  const config = testConfig(
    bed.db.url,
    bed.fakes.env({ LLM_PROFILE_FALLBACK: '', ANTHROPIC_API_KEY: '', LOG_LEVEL: 'warn', ...env }),
  );
  const warnings: Array<Record<string, unknown>> = [];
  const logger = createLogger(config.log);
  logger.clear();
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      const line = JSON.parse(chunk.toString()) as Record<string, unknown>;
      if (line.level === 'warn') warnings.push(line);
      done();
    },
  });
  logger.add(new winston.transports.Stream({ stream: sink }));
  return { llm: createLlmGateway({ config, orm: bed.orm, logger, metrics: createMetrics() }), warnings };
}

const rows = () => bed.orm.em.fork().find(TokenUsageEvent, {}, { orderBy: { id: 'asc' } });

describe('costs that never lie', () => {
  it('ledgers a model with no known price at cost null, flagged cost_unknown, warned once, and counted in the summary', async () => {
    const model = `local-llama-${Date.now()}`;
    bed.fakes.openai.respond(() => ({ text: 'ok', usage: { input: 1000, output: 500 } }));
    const { llm, warnings } = gateway({ LLM_PROFILE_PRIMARY: `openai:${model}` });
    const first = await llm.complete(request(1));
    await llm.complete(request(2));
    expect(first).toMatchObject({ costUsd: 0, costUnknown: true });

    const events = await rows();
    expect(events.map((e) => [e.model, e.outcome, e.costUsd, e.costUnknown])).toEqual([
      [model, 'ok', null, true],
      [model, 'ok', null, true],
    ]);
    expect(events[0] && presentEvent(events[0])).toMatchObject({
      costUsd: null,
      costUnknown: true,
      usageEstimated: false,
    });
    const unpriced = warnings.filter((w) => String(w.message).startsWith('no price is known'));
    expect(unpriced).toHaveLength(1);
    expect(unpriced[0]).toMatchObject({ provider: 'openai', model });

    // A priced call beside them: the total is its cost (a lower bound), with the two unknown calls counted apart.
    bed.fakes.openai.respond(() => ({ text: 'ok', usage: { input: 1_000_000, output: 0 } }));
    await gateway({}).llm.complete(request(3)); // gpt-4o-mini: $0.15 per million input tokens
    const [all] = await usageTotals(em(), budgetMonth(new Date()), 'all');
    expect(all && presentTotals(all)).toMatchObject({
      calls: 3,
      costUsd: 0.15,
      unknownCostCalls: 2,
      estimatedUsageCalls: 0,
    });
  });

  it('refuses a call to an unpriced model before sending when a USD budget applies and the policy is refuse', async () => {
    await em().execute(
      "insert into llm_budgets (scope, monthly_tokens, monthly_usd, updated_at) values ('agent:sandbox', null, 5, now())",
    );
    const { llm } = gateway({ LLM_PROFILE_PRIMARY: 'openai:local-qwen', LLM_UNKNOWN_COST_POLICY: 'refuse' });
    await expect(llm.complete(request(1))).rejects.toMatchObject({
      type: 'LlmCostUnknown',
      retryable: false,
      opts: { scope: 'agent:sandbox' },
    });
    expect(bed.fakes.openai.requests).toHaveLength(0);
    expect((await rows()).map((e) => e.outcome)).toEqual(['cost_unknown']);
    const [held] = (await em().execute('select count(*)::int as n from llm_budget_reservations')) as Array<{
      n: number;
    }>;
    expect(held?.n).toBe(0);

    // warn (the default) sends it and counts it against token budgets only.
    await expect(gateway({ LLM_PROFILE_PRIMARY: 'openai:local-qwen' }).llm.complete(request(2))).resolves.toMatchObject(
      { costUnknown: true },
    );
    expect(bed.fakes.openai.requests).toHaveLength(1);
  });

  it('flags usage the gateway estimated because the provider reported none', async () => {
    bed.fakes.openai.respond(() => ({ text: 'an answer without usage', usage: { input: 0, output: 0 } }));
    const { llm } = gateway({});
    const result = await llm.complete(request(1));
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    const [event] = await rows();
    expect(event).toMatchObject({ outcome: 'ok', usageEstimated: true, costUnknown: false });
    expect(event && presentEvent(event)).toMatchObject({ usageEstimated: true });
    const [all] = await usageTotals(em(), budgetMonth(new Date()), 'all');
    expect(all).toMatchObject({ estimatedUsageCalls: 1 });
  });

  it('prices calls by LLM_PRICES over the built-in table', async () => {
    bed.fakes.openai.respond(() => ({ text: 'ok', usage: { input: 1_000_000, output: 1_000_000 } }));
    const prices = {
      'openai:gpt-4o-mini': { inputPerMTok: 1, outputPerMTok: 2 },
      'openai:local-mistral': { inputPerMTok: 0.5, outputPerMTok: 0.5 },
    };
    await expect(gateway({ LLM_PRICES: JSON.stringify(prices) }).llm.complete(request(1))).resolves.toMatchObject({
      costUsd: 3,
    });
    const local = gateway({ LLM_PRICES: JSON.stringify(prices), LLM_PROFILE_PRIMARY: 'openai:local-mistral' });
    await expect(local.llm.complete(request(2))).resolves.toMatchObject({ costUsd: 1, costUnknown: false });
    expect((await rows()).map((e) => [e.costUsd, e.costUnknown])).toEqual([
      [3, false],
      [1, false],
    ]);
  });

  it('refuses an invalid LLM_PRICES at config load, saying what is wrong', () => {
    const base = { NODE_ENV: 'test', DATABASE_URL: bed.db.url, TEMPORAL_ADDRESS: '127.0.0.1:7233' };
    expect(configProblems({ ...base, LLM_PRICES: '{"openai:gpt-4o": {"inputPerMTok": 1}' })).toEqual([
      expect.stringMatching(/^LLM_PRICES: must be JSON/),
    ]);
    expect(configProblems({ ...base, LLM_PRICES: '{"openai:gpt-4o": {"inputPerMTok": 1}}' })).toEqual([
      expect.stringMatching(/^LLM_PRICES: .*outputPerMTok/),
    ]);
    expect(configProblems({ ...base, LLM_PRICES: '{"gpt-4o": {"inputPerMTok": 1, "outputPerMTok": 2}}' })).toEqual([
      expect.stringMatching(/^LLM_PRICES: .*provider:model/),
    ]);
    expect(configProblems({ ...base, LLM_PRICES: '{"openai:x": {"inputPerMTok": -1, "outputPerMTok": 2}}' })).toEqual([
      expect.stringMatching(/^LLM_PRICES: .*inputPerMTok/),
    ]);
    expect(configProblems({ ...base, LLM_UNKNOWN_COST_POLICY: 'ignore' })).toEqual([
      expect.stringMatching(/^LLM_UNKNOWN_COST_POLICY/),
    ]);
    expect(configProblems({ ...base, LLM_PRICES: '{"openai:x": {"inputPerMTok": 1, "outputPerMTok": 2}}' })).toEqual(
      [],
    );
  });
});
