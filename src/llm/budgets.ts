import { randomUUID } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import { preparedQuery } from '../db/prepared';
import { budgetMonth, thresholdsReached, type BudgetLimits, type BudgetScope } from '../domain/llm';
import type { Logger } from '../logger';
import { createNotification } from '../notifications/create';
import { LlmError, LLM_ERROR_TYPES } from './errors';

type Limits = BudgetLimits;

const SWEEP_EVERY_MS = 60_000;

/** Tokens and dollars held for one call in flight, with the limits that applied when it was taken. */
export interface Reservation {
  id: string;
  month: string;
  scopes: BudgetScope[];
  tokens: number;
  usd: number;
  limits: Partial<Record<BudgetScope, Limits>>;
  /** With `alsoBegin`: the ledger row was written (or was already there) in the same statement. */
  begun?: boolean;
}

interface ScopeState {
  o_scope: BudgetScope;
  o_limit_tokens: string | null;
  o_limit_usd: string | null;
  o_used_tokens: string;
  o_used_usd: string;
  o_reserved_tokens: string;
  o_reserved_usd: string;
  o_exceeded: 'token' | 'USD' | null;
}

/**
 * A ledger row to write in the reservation's own statement (one round trip), only if the reservation is granted and,
 * with `unlessUsdLimit` (an unpriced call under the `refuse` policy), no scope has a USD limit. `insert(when)` gives
 * the insert guarded by the SQL condition `when` (see `ledgerBegin`). `Reservation.begun` says whether it was written.
 */
export interface ReserveAndBegin {
  insert(when: string): { sql: string; params: unknown[] };
  unlessUsdLimit: boolean;
}

export interface Budgets {
  /**
   * Holds `tokens`/`usd` against every scope (for `ttlMs`, default `reservationTtlMs`: a call with a longer deadline
   * holds longer), or throws non-retryable `BudgetExceeded` naming the scope.
   */
  reserve(input: {
    scopes: BudgetScope[];
    tokens: number;
    usd: number;
    at?: Date;
    ttlMs?: number;
    alsoBegin?: ReserveAndBegin;
  }): Promise<Reservation>;
  /**
   * Replaces the hold with what the call really spent (writing `alsoInsert`, the call's ledger row, in the same
   * statement), and raises the 80 %/95 %/100 % notifications once.
   */
  settle(
    reservation: Reservation,
    spent: { tokens: number; usd: number },
    alsoInsert?: { sql: string; params: unknown[] },
  ): Promise<void>;
  /** Gives the hold back (the call failed before the provider charged for it). */
  release(reservation: Reservation): Promise<void>;
  /** Gives back the holds of reservations that expired unsettled (a crashed worker); returns how many. */
  sweep(): Promise<number>;
}

/**
 * Monthly budgets that concurrent calls cannot overspend: a reservation (the `llm_budget_reserve` function, one
 * round trip) locks the usage rows of its scopes in sorted order, checks used + held + this call against each
 * limit, and adds its hold to the rows. Holds left by a crashed worker are given back by `sweep` once older than
 * `reservationTtlMs` (the gateway sweeps once a minute).
 */
export function createBudgets(deps: {
  orm: MikroORM;
  defaults: Config['llm']['defaultBudget'];
  reservationTtlMs: number;
  logger: Logger;
}): Budgets {
  const { orm, defaults, reservationTtlMs, logger } = deps;
  const notified = new Set<string>();
  let nextSweepAt = 0;

  async function sweep(): Promise<number> {
    const [row] = (await orm.em.getConnection().execute('select llm_budget_sweep() as n')) as Array<{ n: number }>;
    return row?.n ?? 0;
  }

  async function notifyOnce(key: string, make: () => Parameters<typeof createNotification>[1]) {
    if (notified.has(key)) return;
    try {
      await createNotification(orm.em.fork() as EntityManager, { ...make(), dedupeKey: key });
      notified.add(key);
    } catch (err) {
      // A lost notification must never fail the call that spent the tokens.
      logger.warn('could not store a budget notification', { key, error: (err as Error).message });
    }
  }

  async function exhausted(scope: BudgetScope, month: string, what: string) {
    await notifyOnce(`budget_exhausted:${scope}:${month}`, () => ({
      kind: 'budget_exhausted',
      title: `LLM budget exhausted: ${scope}`,
      message: `The ${what} budget of ${scope} for ${month} is used up; LLM calls charged to it fail until it is raised or the month ends.`,
      priority: 'critical',
      data: { scope, month },
    }));
  }

  return {
    async reserve({ scopes, tokens, usd, at = new Date(), ttlMs = reservationTtlMs, alsoBegin }) {
      if (Date.now() >= nextSweepAt) {
        nextSweepAt = Date.now() + SWEEP_EVERY_MS;
        sweep().catch((err: Error) =>
          logger.warn('could not sweep expired budget reservations', { error: err.message }),
        );
      }
      const month = budgetMonth(at);
      const sorted = [...scopes].sort();
      const id = randomUUID();
      const reserve = `select * from llm_budget_reserve(?, ?, array[${sorted.map(() => '?').join(', ')}]::text[], ?, ?, ?, ?, ?)`;
      const reserveParams = [id, month, ...sorted, tokens, usd, ttlMs, defaults.monthlyTokens, defaults.monthlyUsd];
      // With a ledger row to begin: one statement, one transaction — the row is written only if the hold is granted
      // (the CTE is evaluated once, before the insert reads it), and neither is committed without the other.
      const begin = alsoBegin?.insert(
        `not exists (select 1 from r where o_exceeded is not null${alsoBegin.unlessUsdLimit ? ' or o_limit_usd is not null' : ''})`,
      );
      // A prepared statement on the pool (parsed and planned once per connection: the gateway's hot path, issue 17).
      const rows = (await preparedQuery(
        orm,
        begin ? `with r as materialized (${reserve}), begun as (${begin.sql}) select * from r` : reserve,
        begin ? [...reserveParams, ...begin.params] : reserveParams,
      )) as ScopeState[];
      const limits: Reservation['limits'] = {};
      for (const row of rows)
        limits[row.o_scope] = {
          monthlyTokens: toNumberOrNull(row.o_limit_tokens),
          monthlyUsd: toNumberOrNull(row.o_limit_usd),
        };
      const over = rows.find((r) => r.o_exceeded !== null);
      if (over === undefined) {
        const begun = alsoBegin && !(alsoBegin.unlessUsdLimit && rows.some((r) => r.o_limit_usd !== null));
        return { id, month, scopes: sorted, tokens, usd, limits, ...(alsoBegin && { begun }) };
      }

      const kind = over.o_exceeded === 'token' ? 'token' : 'USD';
      await exhausted(over.o_scope, month, kind);
      const spent =
        kind === 'token'
          ? `${Number(over.o_used_tokens)} used + ${Number(over.o_reserved_tokens)} in flight + ${tokens} for this call > ${over.o_limit_tokens} tokens`
          : `$${Number(over.o_used_usd)} used + $${Number(over.o_reserved_usd)} in flight + $${usd} for this call > $${Number(over.o_limit_usd)}`;
      throw new LlmError(
        LLM_ERROR_TYPES.budgetExceeded,
        `the ${month} ${kind} budget of ${over.o_scope} would be exceeded: ${spent}`,
        {
          scope: over.o_scope,
        },
      );
    },

    async settle(reservation, spent, alsoInsert) {
      const { scopes, month } = reservation;
      // Gives back exactly what the reservation still holds: nothing if the sweep already reclaimed it. This commit
      // does not wait for the WAL flush (synchronous_commit off for this statement only; -0.3 ms a call): a
      // PostgreSQL crash can lose the last fraction of a second of settles and ledger rows. The reservation that
      // guards the budget was committed durably, and an unsettled one is swept.
      const rows = (await preparedQuery(
        orm,
        `with released as (delete from llm_budget_reservations where id = ? returning tokens, usd)${alsoInsert ? `, also as (${alsoInsert.sql})` : ''}
         update llm_budget_usage
            set used_tokens = used_tokens + ?, used_usd = used_usd + ?,
                reserved_tokens = greatest(0, reserved_tokens - coalesce((select tokens from released), 0)),
                reserved_usd = greatest(0, reserved_usd - coalesce((select usd from released), 0))
          where month = ? and scope in (${scopes.map(() => '?').join(', ')})
            and set_config('synchronous_commit', 'off', true) is not null
         returning scope, used_tokens, used_usd`,
        [reservation.id, ...(alsoInsert?.params ?? []), spent.tokens, spent.usd, month, ...scopes],
      )) as Array<{ scope: BudgetScope; used_tokens: string; used_usd: string }>;
      for (const row of rows) {
        const limit = reservation.limits[row.scope];
        if (limit === undefined) continue;
        await raiseWarnings(row.scope, month, Number(row.used_tokens), limit.monthlyTokens, 'token');
        await raiseWarnings(row.scope, month, Number(row.used_usd), limit.monthlyUsd, 'USD');
      }
    },

    async release(reservation) {
      await orm.em.getConnection().execute(
        `with released as (delete from llm_budget_reservations where id = ? returning tokens, usd)
         update llm_budget_usage
            set reserved_tokens = greatest(0, reserved_tokens - (select tokens from released)),
                reserved_usd = greatest(0, reserved_usd - (select usd from released))
          where exists (select 1 from released) and month = ? and scope in (${reservation.scopes.map(() => '?').join(', ')})`,
        [reservation.id, reservation.month, ...reservation.scopes],
        'run',
      );
    },

    sweep,
  };

  async function raiseWarnings(scope: BudgetScope, month: string, used: number, limit: number | null, kind: string) {
    if (limit === null) return;
    if (used >= limit) return exhausted(scope, month, kind);
    for (const threshold of thresholdsReached(used, limit)) {
      await notifyOnce(`budget_warning:${scope}:${month}:${kind}:${threshold}`, () => ({
        kind: 'budget_warning',
        title: `LLM budget ${threshold} % used: ${scope}`,
        message: `${scope} has used ${Math.floor((used / limit) * 100)} % of its ${month} ${kind} budget (${used} of ${limit}).`,
        priority: threshold >= 95 ? 'high' : 'normal',
        data: { scope, month, threshold, used, limit, unit: kind },
      }));
    }
  }
}

function toNumberOrNull(value: string | null): number | null {
  return value === null ? null : Number(value);
}
