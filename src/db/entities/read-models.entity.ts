import { BigIntType, EntitySchema } from '@mikro-orm/core';

/**
 * Read models kept by database triggers in the same transaction as the rows they summarise (migration
 * ReadCountsRollups), so a list's `total` and the month's token usage are read in O(groups) rows instead of a scan
 * (issue 17). Nothing in the application writes them: the triggers do, for every writer (ORM, raw SQL, bulk loads).
 */

/**
 * How many rows of `tableName` have each combination of its counted columns (`key`: `{"column": value, …}`), as
 * signed changes: every writing statement appends its change per key (+n inserted, −n deleted, both for a row moved
 * between keys), so no writer waits on another's counter; now and then one of them folds a table's rows into one per
 * key. A key's count is the sum of its rows; the total of a list filtered by equality on counted columns is the sum of
 * the rows whose key contains the filter (`key @> filter`), unfiltered the sum of all. Exact: maintained by statement
 * triggers on insert, update, delete and truncate, in the writers' transactions. See COUNTED_COLUMNS in src/db/read.ts.
 */
export class RowCount {
  id?: string;
  tableName: string;
  key: Record<string, unknown>;
  rows: number;

  constructor(init: { tableName: string; key: Record<string, unknown>; rows: number }) {
    this.tableName = init.tableName;
    this.key = init.key;
    this.rows = init.rows;
  }
}

export const RowCountSchema = new EntitySchema<RowCount>({
  class: RowCount,
  tableName: 'row_counts',
  indexes: [{ properties: ['tableName'] }],
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    tableName: { type: 'string', length: 63 },
    key: { type: 'json', columnType: 'jsonb' },
    rows: { type: new BigIntType('number'), default: 0 },
  },
});

/**
 * The token usage ledger summed per month, agent, provider and model: the figures of the usage summary
 * (`usageSummary` in src/llm/reports.ts), maintained by row triggers on `token_usage_events` (a row begun, settled,
 * refunded, deleted; the table truncated). `agentId` is '' for calls made for no agent (system work), so the key can
 * be the primary key.
 */
export class TokenUsageRollup {
  month: string;
  agentId: string;
  provider: string;
  model: string;
  calls = 0;
  cacheHits = 0;
  inputTokens = 0;
  outputTokens = 0;
  costUsd = '0';
  unknownCostCalls = 0;
  estimatedUsageCalls = 0;

  constructor(init: { month: string; agentId: string; provider: string; model: string }) {
    this.month = init.month;
    this.agentId = init.agentId;
    this.provider = init.provider;
    this.model = init.model;
  }
}

export const TokenUsageRollupSchema = new EntitySchema<TokenUsageRollup>({
  class: TokenUsageRollup,
  tableName: 'token_usage_rollup',
  properties: {
    month: { type: 'string', length: 7, primary: true },
    agentId: { type: 'string', length: 32, primary: true },
    provider: { type: 'string', length: 20, primary: true },
    model: { type: 'string', length: 200, primary: true },
    calls: { type: new BigIntType('number'), default: 0 },
    cacheHits: { type: new BigIntType('number'), default: 0 },
    inputTokens: { type: new BigIntType('number'), default: 0 },
    outputTokens: { type: new BigIntType('number'), default: 0 },
    // Unbounded numeric: a sum of numeric(14,6) costs, exact.
    costUsd: { type: 'decimal', columnType: 'numeric', default: 0 },
    unknownCostCalls: { type: new BigIntType('number'), default: 0 },
    estimatedUsageCalls: { type: new BigIntType('number'), default: 0 },
  },
});
