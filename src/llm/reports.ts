import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { readRows } from '../db/read';
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

/** bigint/numeric come as text from the driver, as numbers through json_agg. */
type Num = string | number;
interface TotalsRow {
  key: string | null;
  calls: Num;
  cache_hits: Num;
  input_tokens: Num | null;
  output_tokens: Num | null;
  cost_usd: Num | null;
  unknown_cost_calls: Num;
  estimated_usage_calls: Num;
}

const TOTALS_COLUMNS = `count(*) as calls, count(*) filter (where cache_hit) as cache_hits,
            sum(input_tokens) as input_tokens, sum(output_tokens) as output_tokens, sum(cost_usd) as cost_usd,
            count(*) filter (where cost_unknown) as unknown_cost_calls, count(*) filter (where usage_estimated) as estimated_usage_calls`;

const GROUPS = {
  all: `''`,
  agent: 'agent_id',
  provider: 'provider',
  model: `provider || ':' || model`,
  purpose: 'purpose',
} as const;

/** A budget month (`YYYY-MM`), or a time window [from, to) such as a report week. */
export type UsagePeriod = string | { from: Date; to: Date };

/** Ledger totals for a month or a window, grouped by agent, provider, provider:model or purpose (or not at all). */
export async function usageTotals(
  em: EntityManager,
  period: UsagePeriod,
  by: keyof typeof GROUPS,
): Promise<Array<UsageTotals & { key: string | null }>> {
  const key = GROUPS[by];
  const [where, params] =
    typeof period === 'string' ? ['month = ?', [period]] : ['at >= ? and at < ?', [period.from, period.to]];
  const rows = (await em.execute(
    `select ${key} as key, ${TOTALS_COLUMNS}
       from token_usage_events where ${where} group by 1 order by 1 nulls first`,
    params,
  )) as TotalsRow[];
  return rows.map(totalsOf);
}

function totalsOf(r: TotalsRow): UsageTotals & { key: string | null } {
  return {
    key: r.key,
    calls: Number(r.calls),
    cacheHits: Number(r.cache_hits),
    inputTokens: Number(r.input_tokens ?? 0),
    outputTokens: Number(r.output_tokens ?? 0),
    costUsd: Number(r.cost_usd ?? 0),
    unknownCostCalls: Number(r.unknown_cost_calls),
    estimatedUsageCalls: Number(r.estimated_usage_calls),
  };
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
interface BudgetRow {
  scope: BudgetScope;
  stored: boolean;
  monthly_tokens: Num | null;
  monthly_usd: Num | null;
  updated_at: string | Date | null;
  updated_by: string | null;
  used_tokens: Num;
  used_usd: Num;
}

/** Every budget scope (in BUDGET_SCOPES order: `position`) with its stored limits and the month's use; params: the scopes, then the month. */
const BUDGETS_SQL = `select s.scope, s.position, b.scope is not null as stored, b.monthly_tokens, b.monthly_usd, b.updated_at, b.updated_by,
            coalesce(u.used_tokens, 0) as used_tokens, coalesce(u.used_usd, 0) as used_usd
       from unnest(array[${BUDGET_SCOPES.map(() => '?').join(', ')}]::text[]) with ordinality as s(scope, position)
       left join llm_budgets b on b.scope = s.scope
       left join llm_budget_usage u on u.scope = s.scope and u.month = ?`;

/** Every budget scope with its limits in force and what the month has used (settled calls). */
export async function budgetStates(
  em: EntityManager,
  month: string,
  defaults: Config['llm']['defaultBudget'],
): Promise<BudgetState[]> {
  const rows = (await em.execute(`${BUDGETS_SQL} order by s.position`, [...BUDGET_SCOPES, month])) as BudgetRow[];
  return rows.map((r) => budgetOf(r, defaults));
}

export interface UsageSummary {
  all: UsageTotals | undefined;
  byAgent: Array<UsageTotals & { key: string | null }>;
  byProvider: Array<UsageTotals & { key: string | null }>;
  byModel: Array<UsageTotals & { key: string | null }>;
  budgets: BudgetState[];
}

/** The totals columns summed over `token_usage_rollup` rows (each row already a sum over its ledger rows). */
const ROLLUP_TOTALS = `sum(calls) as calls, sum(cache_hits) as cache_hits, sum(input_tokens) as input_tokens, sum(output_tokens) as output_tokens,
            sum(cost_usd) as cost_usd, sum(unknown_cost_calls) as unknown_cost_calls, sum(estimated_usage_calls) as estimated_usage_calls`;

/**
 * A month's totals (overall, by agent, by provider, by provider:model) and every budget state in ONE statement: the
 * groupings are grouping sets over the month's rows of `token_usage_rollup` (the ledger pre-summed per agent,
 * provider and model by triggers in the writers' transactions: O(groups) rows read, not the month's calls), the
 * budgets a CTE, both returned as json arrays (the summary route, issue 17). Same figures and orders as
 * `usageTotals` ×4 + `budgetStates`, which read the ledger itself (test/db/read-models.test.ts holds them equal).
 */
export async function usageSummary(
  db: EntityManager | MikroORM,
  month: string,
  defaults: Config['llm']['defaultBudget'],
): Promise<UsageSummary> {
  const model = `(provider || ':' || model)`;
  // In the rollup, '' is the agent of calls made for no agent (null in the ledger); a group whose rows were all
  // deleted is left with no calls and is skipped, as the ledger has no such group.
  // Through the ORM's pool as a prepared read (readRows) when given the ORM (the API route), else on `db` (its transaction).
  const run = (sql: string, params: unknown[]) => ('em' in db ? readRows(db, sql, params) : db.execute(sql, params));
  const [row] = (await run(
    `with totals as (
       select case when grouping(agent_id) = 0 then 'agent' when grouping(provider) = 0 then 'provider' when grouping(${model}) = 0 then 'model' else 'all' end as by,
              case when grouping(agent_id) = 0 then agent_id when grouping(provider) = 0 then provider when grouping(${model}) = 0 then ${model} else '' end as key,
              ${ROLLUP_TOTALS}
         from (select nullif(agent_id, '') as agent_id, provider, model, calls, cache_hits, input_tokens, output_tokens, cost_usd, unknown_cost_calls, estimated_usage_calls
                 from token_usage_rollup where month = ? and calls <> 0) r
        group by grouping sets ((), (agent_id), (provider), (${model}))
     ), budgets as (${BUDGETS_SQL})
     select (select coalesce(json_agg(t order by t.by, t.key nulls first), '[]'::json) from totals t) as totals,
            (select json_agg(b order by b.position) from budgets b) as budgets`,
    [month, ...BUDGET_SCOPES, month],
  )) as Array<{ totals: Array<TotalsRow & { by: string }>; budgets: BudgetRow[] }>;
  if (row === undefined) throw new Error('the usage summary query returned no row');
  const totals = row.totals;
  const group = (by: string) => totals.filter((t) => t.by === by).map(totalsOf);
  // The empty grouping set yields a row even for a month without calls; `usageTotals` returns none then (same figures: zeros).
  const [all] = group('all').filter((t) => t.calls > 0);
  return {
    all,
    byAgent: group('agent'),
    byProvider: group('provider'),
    byModel: group('model'),
    budgets: row.budgets.map((b) => budgetOf(b, defaults)),
  };
}

function budgetOf(r: BudgetRow, defaults: Config['llm']['defaultBudget']): BudgetState {
  const stored = r.stored
    ? { monthlyTokens: numberOrNull(r.monthly_tokens), monthlyUsd: numberOrNull(r.monthly_usd) }
    : undefined;
  return {
    scope: r.scope,
    ...effectiveBudget(r.scope, stored, defaults),
    usedTokens: Number(r.used_tokens),
    usedUsd: Number(r.used_usd),
    updatedAt: r.updated_at === null ? null : new Date(r.updated_at),
    updatedBy: r.updated_by,
  };
}

function numberOrNull(v: Num | null): number | null {
  return v === null ? null : Number(v);
}
