import { BigIntType, DecimalType, EntitySchema } from '@mikro-orm/core';

/** A monthly limit for one scope (`global`, `agent:<id>`, `provider:<name>`); null means no limit of that kind. */
export class LlmBudget {
  scope: string;
  monthlyTokens: number | null;
  monthlyUsd: number | null;
  updatedAt: Date = new Date();
  updatedBy: string | null;

  constructor(init: {
    scope: string;
    monthlyTokens: number | null;
    monthlyUsd: number | null;
    updatedBy?: string | null;
  }) {
    this.scope = init.scope;
    this.monthlyTokens = init.monthlyTokens;
    this.monthlyUsd = init.monthlyUsd;
    this.updatedBy = init.updatedBy ?? null;
  }
}

export const LlmBudgetSchema = new EntitySchema<LlmBudget>({
  class: LlmBudget,
  tableName: 'llm_budgets',
  properties: {
    scope: { type: 'string', length: 40, primary: true },
    monthlyTokens: { type: new BigIntType('number'), nullable: true },
    monthlyUsd: { type: new DecimalType('number'), precision: 14, scale: 6, nullable: true },
    updatedAt: { type: 'Date', columnType: 'timestamptz' },
    updatedBy: { type: 'string', length: 100, nullable: true },
  },
});

/** What one scope has spent in one month, and holds for calls in flight; the row a reservation locks. */
export class LlmBudgetUsage {
  scope: string;
  month: string;
  usedTokens = 0;
  usedUsd = 0;
  reservedTokens = 0;
  reservedUsd = 0;

  constructor(init: { scope: string; month: string }) {
    this.scope = init.scope;
    this.month = init.month;
  }
}

export const LlmBudgetUsageSchema = new EntitySchema<LlmBudgetUsage>({
  class: LlmBudgetUsage,
  tableName: 'llm_budget_usage',
  properties: {
    scope: { type: 'string', length: 40, primary: true },
    month: { type: 'string', length: 7, primary: true },
    usedTokens: { type: new BigIntType('number'), default: 0 },
    usedUsd: { type: new DecimalType('number'), precision: 14, scale: 6, default: 0 },
    reservedTokens: { type: new BigIntType('number'), default: 0 },
    reservedUsd: { type: new DecimalType('number'), precision: 14, scale: 6, default: 0 },
  },
});

/**
 * Tokens (and dollars) held for a call in flight, also counted in its scopes' `reserved_*` columns. A reservation
 * that is never settled or released (a crashed worker) is swept after `expiresAt` and its hold given back, so a
 * crash cannot leak budget for good.
 */
export class LlmBudgetReservation {
  id: string;
  month: string;
  scopes: string[];
  tokens: number;
  usd: number;
  expiresAt: Date;

  constructor(init: LlmBudgetReservation) {
    this.id = init.id;
    this.month = init.month;
    this.scopes = init.scopes;
    this.tokens = init.tokens;
    this.usd = init.usd;
    this.expiresAt = init.expiresAt;
  }
}

export const LlmBudgetReservationSchema = new EntitySchema<LlmBudgetReservation>({
  class: LlmBudgetReservation,
  tableName: 'llm_budget_reservations',
  indexes: [{ properties: ['month', 'expiresAt'] }],
  properties: {
    id: { type: 'uuid', primary: true },
    month: { type: 'string', length: 7 },
    scopes: { type: 'text[]', columnType: 'text[]' },
    tokens: { type: new BigIntType('number') },
    usd: { type: new DecimalType('number'), precision: 14, scale: 6 },
    expiresAt: { type: 'Date', columnType: 'timestamptz' },
  },
});
