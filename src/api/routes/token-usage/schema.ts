import { z } from 'zod';
import { AGENT_IDS } from '../../../domain/agents';
import { isBudgetScope, LLM_PROVIDERS } from '../../../domain/llm';
import { LLM_OUTCOMES } from '../../../db/entities';
import { paginationQuery } from '../../pagination';
import { nullableTimestamp, pageOf, timestamp } from '../../responses';
import { text } from '../../text';

const month = text(7, { trim: false }).regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month as YYYY-MM');

export const summaryQuery = z.object({ month: month.optional() });

export const eventsQuery = paginationQuery.extend({
  month: month.optional(),
  agentId: z.enum(AGENT_IDS).optional(),
  provider: z.enum(LLM_PROVIDERS).optional(),
  model: text(200, { trim: false }).optional(),
  purpose: text(100, { trim: false }).optional(),
  outcome: z.enum(LLM_OUTCOMES).optional(),
  workflowId: text(255, { trim: false }).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});

export const scopeParams = z.object({
  scope: text(200, { trim: false }).refine(
    isBudgetScope,
    'must be "global", "agent:<agent id>" or "provider:<openai|anthropic>"',
  ),
});

export const putBudgetBody = z
  .object({
    monthlyTokens: z.number().int().min(0).max(1e15).nullable(),
    monthlyUsd: z.number().min(0).max(1e8).nullable(),
  })
  .strict();

/** A ledger event (`presentEvent`): one LLM call, or its reservation while in flight. */
export const usageEventResponse = z
  .object({
    id: z.string(),
    at: timestamp,
    agentId: z.string().nullable(),
    purpose: z.string(),
    provider: z.string(),
    model: z.string(),
    workflowId: z.string().nullable(),
    activityId: z.string().nullable(),
    attempt: z.number().int().nullable(),
    inputTokens: z.number().int(),
    outputTokens: z.number().int(),
    costUsd: z.number().nullable().describe('null when the model has no known price'),
    costUnknown: z.boolean(),
    usageEstimated: z.boolean().describe("the provider reported no usage: the tokens are the gateway's estimate"),
    latencyMs: z.number(),
    outcome: z.enum(LLM_OUTCOMES),
    cacheHit: z.boolean(),
    error: z.string().nullable(),
  })
  .meta({ id: 'UsageEvent' });

export const usageEventPageResponse = pageOf(usageEventResponse);

/** A budget with what its month has used (`presentBudget`); percentages of the limit, null without one. */
export const budgetResponse = z
  .object({
    scope: z.string().describe('`global`, `agent:<id>` or `provider:<name>`'),
    monthlyTokens: z.number().nullable(),
    monthlyUsd: z.number().nullable(),
    source: z.enum(['stored', 'default', 'none']),
    usedTokens: z.number(),
    usedUsd: z.number(),
    usedTokensPct: z.number().nullable(),
    usedUsdPct: z.number().nullable(),
    updatedAt: nullableTimestamp,
    updatedBy: z.string().nullable(),
  })
  .meta({ id: 'Budget' });

export const budgetsResponse = z.object({ month: z.string(), items: z.array(budgetResponse) });

/** Totals of calls (`presentTotals`); `costUsd` is a lower bound when `unknownCostCalls` > 0. */
export const usageTotalsResponse = z
  .object({
    calls: z.number().int(),
    cacheHits: z.number().int(),
    inputTokens: z.number().int(),
    outputTokens: z.number().int(),
    costUsd: z.number(),
    unknownCostCalls: z.number().int(),
    estimatedUsageCalls: z.number().int(),
  })
  .meta({ id: 'UsageTotals' });

const profile = z.string().nullable().describe('`provider:model`');

export const usageSummaryResponse = z.object({
  month: z.string(),
  totals: usageTotalsResponse,
  budget: budgetResponse.optional().describe('the global budget'),
  byAgent: z.array(
    usageTotalsResponse.extend({
      agentId: z.enum(AGENT_IDS).nullable().describe('null: calls made for no agent (system work)'),
      budget: budgetResponse.nullable().optional(),
    }),
  ),
  byProvider: z.array(
    usageTotalsResponse.extend({
      provider: z.enum(LLM_PROVIDERS),
      configured: z.boolean(),
      budget: budgetResponse.optional(),
    }),
  ),
  byModel: z.array(usageTotalsResponse.extend({ model: z.string().nullable() })),
  llm: z.object({
    configured: z.boolean(),
    profiles: z.object({
      primary: profile,
      fallback: profile,
      examiner: profile,
      judge: profile,
      agents: z.record(z.string(), profile),
    }),
    unavailable: z.string().optional().describe('what fails while no provider is configured'),
    howToEnable: z.string().optional(),
  }),
});
