import { Migration } from '@mikro-orm/migrations';

/**
 * In-flight holds become counters on the locked usage rows (`reserved_tokens`, `reserved_usd`), so a reservation no
 * longer sums the reservations table (a scan whose cost grew with the insert/delete churn between vacuums). The
 * reservations table stays as the record of each hold: settle and release delete it by id and give back exactly
 * what it held; `llm_budget_sweep` gives back the holds of reservations that expired unsettled (a crashed worker).
 */
export class Migration20261123124833_LlmBudgetCounters extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table "llm_budget_usage" add column "reserved_tokens" bigint not null default 0, add column "reserved_usd" numeric(14,6) not null default 0;`,
    );
    // The result type changes (reserved_* are now the row's counters), which `create or replace` cannot do.
    this.addSql(
      `drop function if exists llm_budget_reserve(uuid, text, text[], bigint, numeric, bigint, bigint, numeric);`,
    );
    this.addSql(`create function llm_budget_reserve(
        p_id uuid, p_month text, p_scopes text[], p_tokens bigint, p_usd numeric, p_ttl_ms bigint,
        p_default_tokens bigint, p_default_usd numeric)
      returns table (o_scope text, o_limit_tokens bigint, o_limit_usd numeric, o_used_tokens bigint, o_used_usd numeric,
                     o_reserved_tokens bigint, o_reserved_usd numeric, o_exceeded text)
      language plpgsql volatile as $fn$
      declare
        s record;
        v_exceeded boolean := false;
      begin
        insert into llm_budget_usage (scope, month)
          select x, p_month from unnest(p_scopes) as x order by x
          on conflict do nothing;
        for s in
          select u.scope, u.used_tokens, u.used_usd, u.reserved_tokens, u.reserved_usd,
                 case when b.scope is not null then b.monthly_tokens when u.scope = 'global' then p_default_tokens end as lim_tokens,
                 case when b.scope is not null then b.monthly_usd when u.scope = 'global' then p_default_usd end as lim_usd
            from llm_budget_usage u
            left join llm_budgets b on b.scope = u.scope
           where u.month = p_month and u.scope = any(p_scopes)
           order by u.scope
             for update of u
        loop
          o_scope := s.scope; o_limit_tokens := s.lim_tokens; o_limit_usd := s.lim_usd;
          o_used_tokens := s.used_tokens; o_used_usd := s.used_usd;
          o_reserved_tokens := s.reserved_tokens; o_reserved_usd := s.reserved_usd; o_exceeded := null;
          if not v_exceeded and s.lim_tokens is not null and s.used_tokens + s.reserved_tokens + p_tokens > s.lim_tokens then
            o_exceeded := 'token'; v_exceeded := true;
          elsif not v_exceeded and s.lim_usd is not null and s.used_usd + s.reserved_usd + p_usd > s.lim_usd then
            o_exceeded := 'USD'; v_exceeded := true;
          end if;
          return next;
        end loop;
        if not v_exceeded then
          update llm_budget_usage set reserved_tokens = reserved_tokens + p_tokens, reserved_usd = reserved_usd + p_usd
           where month = p_month and scope = any(p_scopes);
          insert into llm_budget_reservations (id, month, scopes, tokens, usd, expires_at)
            values (p_id, p_month, p_scopes, p_tokens, p_usd, now() + p_ttl_ms * interval '1 millisecond');
        end if;
      end
      $fn$;`);
    this.addSql(`create or replace function llm_budget_sweep() returns integer
      language plpgsql volatile as $fn$
      declare
        r record;
        n integer := 0;
      begin
        for r in delete from llm_budget_reservations where expires_at < now() returning month, scopes, tokens, usd loop
          perform 1 from llm_budget_usage where month = r.month and scope = any(r.scopes) order by scope for update;
          update llm_budget_usage
             set reserved_tokens = greatest(0, reserved_tokens - r.tokens), reserved_usd = greatest(0, reserved_usd - r.usd)
           where month = r.month and scope = any(r.scopes);
          n := n + 1;
        end loop;
        return n;
      end
      $fn$;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop function if exists llm_budget_sweep();`);
    this.addSql(`alter table "llm_budget_usage" drop column "reserved_tokens", drop column "reserved_usd";`);
  }
}
