import type { z } from 'zod';
import type { TokenUsageEvent } from '../../../db/entities';
import type { BudgetState, UsageTotals } from '../../../llm/reports';
import type { budgetResponse, usageEventResponse, usageTotalsResponse } from './schema';

export function presentEvent(e: TokenUsageEvent): z.infer<typeof usageEventResponse> {
  return {
    id: String(e.id),
    at: e.at.toISOString(),
    agentId: e.agentId,
    purpose: e.purpose,
    provider: e.provider,
    model: e.model,
    workflowId: e.workflowId,
    activityId: e.activityId,
    attempt: e.attempt,
    inputTokens: e.inputTokens,
    outputTokens: e.outputTokens,
    costUsd: e.costUsd,
    costUnknown: e.costUnknown,
    usageEstimated: e.usageEstimated,
    latencyMs: e.latencyMs,
    outcome: e.outcome,
    cacheHit: e.cacheHit,
    error: e.error,
  };
}

/** A budget with what its month has used: percentages are of the limit, null when there is none. */
export function presentBudget(b: BudgetState): z.infer<typeof budgetResponse> {
  const pct = (used: number, limit: number | null) =>
    limit === null || limit === 0 ? null : Math.round((used / limit) * 1000) / 10;
  return {
    scope: b.scope,
    monthlyTokens: b.monthlyTokens,
    monthlyUsd: b.monthlyUsd,
    source: b.source,
    usedTokens: b.usedTokens,
    usedUsd: round6(b.usedUsd),
    usedTokensPct: pct(b.usedTokens, b.monthlyTokens),
    usedUsdPct: pct(b.usedUsd, b.monthlyUsd),
    updatedAt: b.updatedAt?.toISOString() ?? null,
    updatedBy: b.updatedBy,
  };
}

export function presentTotals(t: UsageTotals): z.infer<typeof usageTotalsResponse> {
  const { calls, cacheHits, inputTokens, outputTokens, costUsd, unknownCostCalls, estimatedUsageCalls } = t;
  // With unknownCostCalls > 0, costUsd is a lower bound: those calls are left out, not counted as free.
  return {
    calls,
    cacheHits,
    inputTokens,
    outputTokens,
    costUsd: round6(costUsd),
    unknownCostCalls,
    estimatedUsageCalls,
  };
}

function round6(n: number): number {
  return Math.round(n * 1_000_000) / 1_000_000;
}
