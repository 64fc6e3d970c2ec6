import { Migration } from '@mikro-orm/migrations';

/**
 * The API's agents cache (src/db/table-cache.ts) is told when what it holds changed: a statement trigger on `agents` and
 * `agent_skill_ratings` calls `pg_notify('lvl_table_changed', <table>)`, which PostgreSQL delivers to listeners when
 * the writer's transaction commits (never for a rolled-back one; repeats in one transaction are delivered once).
 */
export class Migration20261203080000_AgentsChangeFeed extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create or replace function lvl_notify_change() returns trigger language plpgsql as $$
begin
  perform pg_notify('lvl_table_changed', tg_table_name);
  return null;
end $$;`);
    for (const table of ['agents', 'agent_skill_ratings']) {
      this.addSql(
        `create trigger "${table}_notify_change" after insert or update or delete or truncate on "${table}" for each statement execute function lvl_notify_change();`,
      );
    }
  }

  override async down(): Promise<void> {
    for (const table of ['agents', 'agent_skill_ratings']) {
      this.addSql(`drop trigger if exists "${table}_notify_change" on "${table}";`);
    }
    this.addSql(`drop function if exists lvl_notify_change();`);
  }
}
