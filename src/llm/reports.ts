import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import { BUDGET_SCOPES, effectiveBudget, type BudgetScope } from '../domain/llm';

/** Read models over the ledger and budgets, shared by the API and the weekly report. */

export interface UsageTotals {
  calls: number;
  cacheHits: number;
  inputTokens: number;
  outputTokens: number;
  /** A lower bound when `unknownCostCalls` > 0: calls to models with no known price add nothing to it. */
  costUsd: number;
  /** Calls whose cost is unknown (no price for their model): `costUsd` leaves them out. */
  unknownCostCalls: number;
  /** Calls whose tokens are the gateway's estimate (the provider reported no usage). */
  estimatedUsageCalls: number;
}

interface TotalsRow {
  key: string | null;
  calls: string;
  cache_hits: string;
  input_tokens: string | null;
  output_tokens: string | null;
  cost_usd: string | null;
  unknown_cost_calls: string;
  estimated_usage_calls: string;
}

const GROUPS = { all: `''`, agent: 'agent_id', provider: 'provider', model: `provider || ':' || model`, purpose: 'purpose' } as const;

/** A budget month (`YYYY-MM`), or a time window [from, to) such as a report week. */
export type UsagePeriod = string | { from: Date; to: Date };

/** Ledger totals for a month or a window, grouped by agent, provider, provider:model or purpose (or not at all). */
export async function usageTotals(em: EntityManager, period: UsagePeriod, by: keyof typeof GROUPS): Promise<Array<UsageTotals & { key: string | null }>> {
  const key = GROUPS[by];
  const [where, params] = typeof period === 'string' ? ['month = ?', [period]] : ['at >= ? and at < ?', [period.from, period.to]];
  const rows = (await em.execute(
    `select ${key} as key, count(*) as calls, count(*) filter (where cache_hit) as cache_hits,
            sum(input_tokens) as input_tokens, sum(output_tokens) as output_tokens, sum(cost_usd) as cost_usd,
            count(*) filter (where cost_unknown) as unknown_cost_calls, count(*) filter (where usage_estimated) as estimated_usage_calls
       from token_usage_events where ${where} group by 1 order by 1 nulls first`,
    params,
  )) as TotalsRow[];
  return rows.map((r) => ({
    key: r.key,
    calls: Number(r.calls),
    cacheHits: Number(r.cache_hits),
    inputTokens: Number(r.input_tokens ?? 0),
    outputTokens: Number(r.output_tokens ?? 0),
    costUsd: Number(r.cost_usd ?? 0),
    unknownCostCalls: Number(r.unknown_cost_calls),
    estimatedUsageCalls: Number(r.estimated_usage_calls),
  }));
}

export interface BudgetState {
  scope: BudgetScope;
  monthlyTokens: number | null;
  monthlyUsd: number | null;
  source: 'stored' | 'default' | 'none';
  usedTokens: number;
  usedUsd: number;
  updatedAt: Date | null;
  updatedBy: string | null;
}

/** Every budget scope with its limits in force and what the month has used (settled calls). */
export async function budgetStates(em: EntityManager, month: string, defaults: Config['llm']['defaultBudget']): Promise<BudgetState[]> {
  const rows = (await em.execute(
    `select s.scope, b.scope is not null as stored, b.monthly_tokens, b.monthly_usd, b.updated_at, b.updated_by,
            coalesce(u.used_tokens, 0) as used_tokens, coalesce(u.used_usd, 0) as used_usd
       from unnest(array[${BUDGET_SCOPES.map(() => '?').join(', ')}]::text[]) with ordinality as s(scope, position)
       left join llm_budgets b on b.scope = s.scope
       left join llm_budget_usage u on u.scope = s.scope and u.month = ?
      order by s.position`,
    [...BUDGET_SCOPES, month],
  )) as Array<{
    scope: BudgetScope;
    stored: boolean;
    monthly_tokens: string | null;
    monthly_usd: string | null;
    updated_at: string | Date | null;
    updated_by: string | null;
    used_tokens: string;
    used_usd: string;
  }>;
  return rows.map((r) => {
    const stored = r.stored ? { monthlyTokens: numberOrNull(r.monthly_tokens), monthlyUsd: numberOrNull(r.monthly_usd) } : undefined;
    return {
      scope: r.scope,
      ...effectiveBudget(r.scope, stored, defaults),
      usedTokens: Number(r.used_tokens),
      usedUsd: Number(r.used_usd),
      updatedAt: r.updated_at === null ? null : new Date(r.updated_at),
      updatedBy: r.updated_by,
    };
  });
}

function numberOrNull(v: string | null): number | null {
  return v === null ? null : Number(v);
}
