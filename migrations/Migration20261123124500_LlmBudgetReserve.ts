import { Migration } from '@mikro-orm/migrations';

/**
 * `llm_budget_reserve`: the budget reservation in one round trip. It locks the usage rows of the call's scopes in
 * sorted order (so concurrent reservations never deadlock), then, in a new statement (so it sees every reservation
 * committed while it waited), checks used + in flight + this call against each scope's limit, and inserts the
 * reservation only if every scope admits it. It returns each scope's state; `o_exceeded` names the first scope and
 * unit ('token' or 'USD') over its limit, in which case nothing was reserved.
 *
 * The "global scope without a stored budget uses the configured default" rule (src/domain/llm.ts effectiveBudget)
 * is applied here to the defaults passed in.
 */
export class Migration20261123124500_LlmBudgetReserve extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create or replace function llm_budget_reserve(
        p_id uuid, p_month text, p_scopes text[], p_tokens bigint, p_usd numeric, p_ttl_ms bigint,
        p_default_tokens bigint, p_default_usd numeric)
      returns table (o_scope text, o_limit_tokens bigint, o_limit_usd numeric, o_used_tokens bigint, o_used_usd numeric,
                     o_reserved_tokens numeric, o_reserved_usd numeric, o_exceeded text)
      language plpgsql volatile as $fn$
      declare
        s record;
        v_exceeded boolean := false;
      begin
        insert into llm_budget_usage (scope, month)
          select x, p_month from unnest(p_scopes) as x order by x
          on conflict do nothing;
        perform 1 from llm_budget_usage u where u.month = p_month and u.scope = any(p_scopes) order by u.scope for update;
        for s in
          select u.scope, u.used_tokens, u.used_usd,
                 case when b.scope is not null then b.monthly_tokens when u.scope = 'global' then p_default_tokens end as lim_tokens,
                 case when b.scope is not null then b.monthly_usd when u.scope = 'global' then p_default_usd end as lim_usd,
                 coalesce(r.tokens, 0) as res_tokens, coalesce(r.usd, 0) as res_usd
            from llm_budget_usage u
            left join llm_budgets b on b.scope = u.scope
            left join lateral (select sum(x.tokens) as tokens, sum(x.usd) as usd from llm_budget_reservations x
                                where x.month = u.month and u.scope = any(x.scopes) and x.expires_at > now()) r on true
           where u.month = p_month and u.scope = any(p_scopes)
           order by u.scope
        loop
          o_scope := s.scope; o_limit_tokens := s.lim_tokens; o_limit_usd := s.lim_usd;
          o_used_tokens := s.used_tokens; o_used_usd := s.used_usd;
          o_reserved_tokens := s.res_tokens; o_reserved_usd := s.res_usd; o_exceeded := null;
          if not v_exceeded and s.lim_tokens is not null and s.used_tokens + s.res_tokens + p_tokens > s.lim_tokens then
            o_exceeded := 'token'; v_exceeded := true;
          elsif not v_exceeded and s.lim_usd is not null and s.used_usd + s.res_usd + p_usd > s.lim_usd then
            o_exceeded := 'USD'; v_exceeded := true;
          end if;
          return next;
        end loop;
        if not v_exceeded then
          insert into llm_budget_reservations (id, month, scopes, tokens, usd, expires_at)
            values (p_id, p_month, p_scopes, p_tokens, p_usd, now() + p_ttl_ms * interval '1 millisecond');
        end if;
      end
      $fn$;`);
    // Every call inserts and deletes one reservation: vacuum the table often so the in-flight sums stay cheap.
    this.addSql(
      `alter table llm_budget_reservations set (autovacuum_vacuum_threshold = 500, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_cost_delay = 0);`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(
      `drop function if exists llm_budget_reserve(uuid, text, text[], bigint, numeric, bigint, bigint, numeric);`,
    );
    this.addSql(
      `alter table llm_budget_reservations reset (autovacuum_vacuum_threshold, autovacuum_vacuum_scale_factor, autovacuum_vacuum_cost_delay);`,
    );
  }
}
