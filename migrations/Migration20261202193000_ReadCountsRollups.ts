import { Migration } from '@mikro-orm/migrations';

/**
 * Issue 17: the hot lists and the token usage summary cost the same at 10× the rows.
 *
 * - List orders as indexes: exams (started_at desc, id), proposals (created_at desc, id), findings (kind,
 *   severity_rank, last_seen_at desc, id), `severity_rank` a stored generated column (0 critical, 1 high, 2 medium,
 *   3 the rest), so a page is the first rows of an index instead of a sort of the table.
 * - `row_counts`: exact row counts per combination of each list's filter columns, kept by statement triggers (with
 *   transition tables) in the writers' transactions: a list's `total` is a sum over a few rows, not a `count(*)` of
 *   the table. Each statement appends its changes per key (no writer ever waits on another's counter row), and now
 *   and then one of them folds a table's rows into one per key.
 * - `token_usage_rollup`: the ledger summed per month, agent, provider and model, kept by row triggers (a ledger
 *   statement writes one row; the update trigger fires only when a summed or key column changes, not for the
 *   liveness stamp): the summary reads O(groups) rows instead of the month's calls.
 * Both are backfilled here, after their triggers exist, inside the migration's transaction (creating a trigger locks
 * the table against writes until the commit, so no row is counted twice or missed).
 */
const COUNTED = {
  exams: ['agent_id', 'status', 'category'],
  findings: ['kind', 'severity', 'status', 'tool'],
  proposals: ['status', 'agent_id'],
  notifications: ['read', 'kind'],
};

const ROLLUP_SUMS = [
  'calls',
  'cache_hits',
  'input_tokens',
  'output_tokens',
  'cost_usd',
  'unknown_cost_calls',
  'estimated_usage_calls',
];

export class Migration20261202193000_ReadCountsRollups extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table "findings" add column "severity_rank" smallint generated always as (case severity when 'critical' then 0 when 'high' then 1 when 'medium' then 2 else 3 end) stored null;`,
    );
    this.addSql(
      `create index "findings_list_order_index" on "findings" ("kind", "severity_rank", "last_seen_at" desc, "id");`,
    );
    this.addSql(`create index "exams_list_order_index" on "exams" ("started_at" desc, "id");`);
    this.addSql(`create index "proposals_list_order_index" on "proposals" ("created_at" desc, "id");`);

    this.addSql(
      `create table "row_counts" ("id" bigserial primary key, "table_name" varchar(63) not null, "key" jsonb not null, "rows" bigint not null default 0);`,
    );
    this.addSql(`create index "row_counts_table_name_index" on "row_counts" ("table_name");`);
    // One function for every counted table; its trigger arguments name the counted columns.
    this.addSql(`create function lvl_count_rows() returns trigger language plpgsql as $fn$
declare
  key_sql text := (select 'jsonb_build_object(' || string_agg(format('%L, r.%I', c, c), ', ') || ')' from unnest(TG_ARGV) c);
  delta_sql text;
begin
  if TG_OP = 'TRUNCATE' then
    delete from row_counts where table_name = TG_TABLE_NAME;
    return null;
  end if;
  delta_sql := case TG_OP
    when 'INSERT' then format('select %s as key, 1 as n from new_rows r', key_sql)
    when 'DELETE' then format('select %s as key, -1 as n from old_rows r', key_sql)
    else format('select %s as key, 1 as n from new_rows r union all select %s, -1 from old_rows r', key_sql, key_sql)
  end;
  -- Appended, never updated: a writer waits for no other writer's counter (a notification inserted in a long
  -- transaction does not hold back the next one). The readers sum a key's rows.
  execute format('insert into row_counts (table_name, key, rows)
                    select %L, d.key, sum(d.n) from (%s) d group by d.key having sum(d.n) <> 0', TG_TABLE_NAME, delta_sql);
  -- Now and then (one statement in 32) the table's rows are folded into one per key, by one transaction at a time
  -- (the others skip it): rows of transactions still open are not visible here, so they are left for the next time.
  if random() < 1.0 / 32 and pg_try_advisory_xact_lock(hashtext('row_counts:' || TG_TABLE_NAME)) then
    with folded as (delete from row_counts where table_name = TG_TABLE_NAME returning key, rows)
    insert into row_counts (table_name, key, rows)
      select TG_TABLE_NAME, key, sum(rows) from folded group by key having sum(rows) <> 0;
  end if;
  return null;
end
$fn$;`);
    for (const [table, columns] of Object.entries(COUNTED)) {
      const args = columns.map((c) => `'${c}'`).join(', ');
      this.addSql(
        `create trigger "${table}_count_insert" after insert on "${table}" referencing new table as new_rows for each statement execute function lvl_count_rows(${args});`,
      );
      this.addSql(
        `create trigger "${table}_count_update" after update on "${table}" referencing old table as old_rows new table as new_rows for each statement execute function lvl_count_rows(${args});`,
      );
      this.addSql(
        `create trigger "${table}_count_delete" after delete on "${table}" referencing old table as old_rows for each statement execute function lvl_count_rows(${args});`,
      );
      this.addSql(
        `create trigger "${table}_count_truncate" after truncate on "${table}" for each statement execute function lvl_count_rows(${args});`,
      );
      this.addSql(`insert into row_counts (table_name, key, rows)
        select '${table}', jsonb_build_object(${columns.map((c) => `'${c}', "${c}"`).join(', ')}), count(*) from "${table}" group by 2;`);
    }

    this.addSql(
      `create table "token_usage_rollup" ("month" varchar(7) not null, "agent_id" varchar(32) not null, "provider" varchar(20) not null, "model" varchar(200) not null, "calls" bigint not null default 0, "cache_hits" bigint not null default 0, "input_tokens" bigint not null default 0, "output_tokens" bigint not null default 0, "cost_usd" numeric not null default 0, "unknown_cost_calls" bigint not null default 0, "estimated_usage_calls" bigint not null default 0, constraint "token_usage_rollup_pkey" primary key ("month", "agent_id", "provider", "model"));`,
    );
    // A ledger row's contribution, signed (+1 added, -1 taken away), added to its group's row.
    const upsert = (
      row: 'NEW' | 'OLD',
      sign: '' | '-',
    ) => `insert into token_usage_rollup as u (month, agent_id, provider, model, ${ROLLUP_SUMS.join(', ')})
      values (${row}.month, coalesce(${row}.agent_id, ''), ${row}.provider, ${row}.model, ${sign}1, ${sign}(${row}.cache_hit::int), ${sign}${row}.input_tokens, ${sign}${row}.output_tokens,
              ${sign}coalesce(${row}.cost_usd, 0), ${sign}(${row}.cost_unknown::int), ${sign}(${row}.usage_estimated::int))
      on conflict (month, agent_id, provider, model) do update set ${ROLLUP_SUMS.map((c) => `${c} = u.${c} + excluded.${c}`).join(', ')};`;
    this.addSql(`create function lvl_token_usage_rollup() returns trigger language plpgsql as $fn$
begin
  if TG_OP = 'TRUNCATE' then
    delete from token_usage_rollup;
    return null;
  end if;
  if TG_OP in ('UPDATE', 'DELETE') then
    ${upsert('OLD', '-')}
  end if;
  if TG_OP in ('INSERT', 'UPDATE') then
    ${upsert('NEW', '')}
  end if;
  return null;
end
$fn$;`);
    const watched = [
      'month',
      'agent_id',
      'provider',
      'model',
      'input_tokens',
      'output_tokens',
      'cost_usd',
      'cost_unknown',
      'usage_estimated',
      'cache_hit',
    ];
    this.addSql(
      `create trigger "token_usage_rollup_insert" after insert on "token_usage_events" for each row execute function lvl_token_usage_rollup();`,
    );
    this
      .addSql(`create trigger "token_usage_rollup_update" after update of ${watched.join(', ')} on "token_usage_events" for each row
      when ((${watched.map((c) => `old.${c}`).join(', ')}) is distinct from (${watched.map((c) => `new.${c}`).join(', ')})) execute function lvl_token_usage_rollup();`);
    this.addSql(
      `create trigger "token_usage_rollup_delete" after delete on "token_usage_events" for each row execute function lvl_token_usage_rollup();`,
    );
    this.addSql(
      `create trigger "token_usage_rollup_truncate" after truncate on "token_usage_events" for each statement execute function lvl_token_usage_rollup();`,
    );
    this.addSql(`insert into token_usage_rollup (month, agent_id, provider, model, ${ROLLUP_SUMS.join(', ')})
      select month, coalesce(agent_id, ''), provider, model, count(*), count(*) filter (where cache_hit), sum(input_tokens), sum(output_tokens),
             coalesce(sum(cost_usd), 0), count(*) filter (where cost_unknown), count(*) filter (where usage_estimated)
        from token_usage_events group by 1, 2, 3, 4;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists "token_usage_rollup_insert" on "token_usage_events";`);
    this.addSql(`drop trigger if exists "token_usage_rollup_update" on "token_usage_events";`);
    this.addSql(`drop trigger if exists "token_usage_rollup_delete" on "token_usage_events";`);
    this.addSql(`drop trigger if exists "token_usage_rollup_truncate" on "token_usage_events";`);
    this.addSql(`drop function if exists lvl_token_usage_rollup();`);
    this.addSql(`drop table if exists "token_usage_rollup" cascade;`);
    for (const table of Object.keys(COUNTED)) {
      for (const op of ['insert', 'update', 'delete', 'truncate'])
        this.addSql(`drop trigger if exists "${table}_count_${op}" on "${table}";`);
    }
    this.addSql(`drop function if exists lvl_count_rows();`);
    this.addSql(`drop table if exists "row_counts" cascade;`);
    this.addSql(`drop index if exists "proposals_list_order_index";`);
    this.addSql(`drop index if exists "exams_list_order_index";`);
    this.addSql(`drop index if exists "findings_list_order_index";`);
    this.addSql(`alter table "findings" drop column "severity_rank";`);
  }
}
