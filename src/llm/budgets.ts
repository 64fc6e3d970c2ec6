import { randomUUID } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import { budgetMonth, effectiveBudget, thresholdsReached, type BudgetLimits, type BudgetScope } from '../domain/llm';
import type { Logger } from '../logger';
import { createNotification } from '../notifications/create';
import { LlmError, LLM_ERROR_TYPES } from './errors';

type Limits = BudgetLimits;

/** Tokens and dollars held for one call in flight, with the limits that applied when it was taken. */
export interface Reservation {
  id: string;
  month: string;
  scopes: BudgetScope[];
  tokens: number;
  usd: number;
  limits: Partial<Record<BudgetScope, Limits>>;
}

interface ScopeState {
  scope: BudgetScope;
  used_tokens: string;
  used_usd: string;
  has_budget: boolean;
  monthly_tokens: string | null;
  monthly_usd: string | null;
  reserved_tokens: string;
  reserved_usd: string;
}

export interface Budgets {
  /** Holds `tokens`/`usd` against every scope, or throws non-retryable `BudgetExceeded` naming the scope. */
  reserve(input: { scopes: BudgetScope[]; tokens: number; usd: number; at?: Date }): Promise<Reservation>;
  /** Replaces the hold with what the call really spent, and raises the 80 %/95 %/100 % notifications once. */
  settle(reservation: Reservation, spent: { tokens: number; usd: number }): Promise<void>;
  /** Gives the hold back (the call failed before the provider charged for it). */
  release(reservation: Reservation): Promise<void>;
}

/**
 * Monthly budgets that concurrent calls cannot overspend: a reservation locks the usage rows of its scopes (in
 * sorted order, so transactions never deadlock), then checks used + in-flight + this call against each limit.
 * Unsettled reservations stop counting after `reservationTtlMs` (a crashed worker cannot leak budget for good).
 */
export function createBudgets(deps: {
  orm: MikroORM;
  defaults: Config['llm']['defaultBudget'];
  reservationTtlMs: number;
  logger: Logger;
}): Budgets {
  const { orm, defaults, reservationTtlMs, logger } = deps;
  const notified = new Set<string>();

  async function notifyOnce(em: EntityManager, key: string, make: () => Parameters<typeof createNotification>[1]) {
    if (notified.has(key)) return;
    try {
      await createNotification(em, { ...make(), dedupeKey: key });
      notified.add(key);
    } catch (err) {
      // A lost notification must never fail the call that spent the tokens.
      logger.warn('could not store a budget notification', { key, error: (err as Error).message });
    }
  }

  function limitsOf(row: ScopeState): Limits {
    const stored = row.has_budget ? { monthlyTokens: toNumberOrNull(row.monthly_tokens), monthlyUsd: toNumberOrNull(row.monthly_usd) } : undefined;
    const { monthlyTokens, monthlyUsd } = effectiveBudget(row.scope, stored, defaults);
    return { monthlyTokens, monthlyUsd };
  }

  async function exhausted(scope: BudgetScope, month: string, what: string) {
    await notifyOnce(orm.em.fork() as EntityManager, `budget_exhausted:${scope}:${month}`, () => ({
      kind: 'budget_exhausted',
      title: `LLM budget exhausted: ${scope}`,
      message: `The ${what} budget of ${scope} for ${month} is used up; LLM calls charged to it fail until it is raised or the month ends.`,
      priority: 'critical',
      data: { scope, month },
    }));
  }

  return {
    async reserve({ scopes, tokens, usd, at = new Date() }) {
      const month = budgetMonth(at);
      const sorted = [...scopes].sort();
      const em = orm.em.fork() as EntityManager;
      type Outcome = { reservation: Reservation } | { exceeded: { row: ScopeState; limit: Limits; kind: 'token' | 'USD' } };
      const outcome = await em.transactional(async (tx): Promise<Outcome> => {
        // Creates missing rows and locks all of them, in sorted order, in one statement.
        await tx.execute(
          `insert into llm_budget_usage (scope, month) values ${sorted.map(() => '(?, ?)').join(', ')}
           on conflict (scope, month) do update set month = excluded.month`,
          sorted.flatMap((s) => [s, month]),
          'run',
        );
        // A new statement, so it sees every reservation committed while this one waited for the locks.
        const rows = (await tx.execute(
          `select u.scope, u.used_tokens, u.used_usd, b.scope is not null as has_budget, b.monthly_tokens, b.monthly_usd,
                  coalesce(r.tokens, 0) as reserved_tokens, coalesce(r.usd, 0) as reserved_usd
             from llm_budget_usage u
             left join llm_budgets b on b.scope = u.scope
             left join lateral (select sum(tokens) as tokens, sum(usd) as usd from llm_budget_reservations r
                                 where r.month = u.month and u.scope = any(r.scopes) and r.expires_at > now()) r on true
            where u.month = ? and u.scope in (${sorted.map(() => '?').join(', ')})`,
          [month, ...sorted],
        )) as ScopeState[];
        const limits: Reservation['limits'] = {};
        for (const row of rows) {
          const limit = limitsOf(row);
          limits[row.scope] = limit;
          const overTokens = limit.monthlyTokens !== null && Number(row.used_tokens) + Number(row.reserved_tokens) + tokens > limit.monthlyTokens;
          const overUsd = limit.monthlyUsd !== null && Number(row.used_usd) + Number(row.reserved_usd) + usd > limit.monthlyUsd;
          if (overTokens || overUsd) return { exceeded: { row, limit, kind: overTokens ? 'token' : 'USD' } };
        }
        const id = randomUUID();
        await tx.execute(
          `insert into llm_budget_reservations (id, month, scopes, tokens, usd, expires_at)
           values (?, ?, array[${sorted.map(() => '?').join(', ')}]::text[], ?, ?, now() + ? * interval '1 millisecond')`,
          [id, month, ...sorted, tokens, usd, reservationTtlMs],
          'run',
        );
        return { reservation: { id, month, scopes: sorted, tokens, usd, limits } };
      });
      if ('reservation' in outcome) return outcome.reservation;
      const { row, limit, kind } = outcome.exceeded;
      await exhausted(row.scope, month, kind);
      const spent =
        kind === 'token'
          ? `${Number(row.used_tokens)} used + ${Number(row.reserved_tokens)} in flight + ${tokens} for this call > ${limit.monthlyTokens} tokens`
          : `$${Number(row.used_usd)} used + $${Number(row.reserved_usd)} in flight + $${usd} for this call > $${limit.monthlyUsd}`;
      throw new LlmError(LLM_ERROR_TYPES.budgetExceeded, `the ${month} ${kind} budget of ${row.scope} would be exceeded: ${spent}`, {
        scope: row.scope,
      });
    },

    async settle(reservation, spent) {
      const em = orm.em.fork() as EntityManager;
      const { scopes, month } = reservation;
      const rows = (await em.execute(
        `with released as (delete from llm_budget_reservations where id = ?)
         update llm_budget_usage set used_tokens = used_tokens + ?, used_usd = used_usd + ?
          where month = ? and scope in (${scopes.map(() => '?').join(', ')})
         returning scope, used_tokens, used_usd`,
        [reservation.id, spent.tokens, spent.usd, month, ...scopes],
      )) as Array<{ scope: BudgetScope; used_tokens: string; used_usd: string }>;
      for (const row of rows) {
        const limit = reservation.limits[row.scope];
        if (limit === undefined) continue;
        await raiseWarnings(em, row.scope, month, Number(row.used_tokens), limit.monthlyTokens, 'token');
        await raiseWarnings(em, row.scope, month, Number(row.used_usd), limit.monthlyUsd, 'USD');
      }
    },

    async release(reservation) {
      await (orm.em.fork() as EntityManager).execute('delete from llm_budget_reservations where id = ?', [reservation.id], 'run');
    },
  };

  async function raiseWarnings(em: EntityManager, scope: BudgetScope, month: string, used: number, limit: number | null, kind: string) {
    if (limit === null) return;
    if (used >= limit) return exhausted(scope, month, kind);
    for (const threshold of thresholdsReached(used, limit)) {
      await notifyOnce(em, `budget_warning:${scope}:${month}:${kind}:${threshold}`, () => ({
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
