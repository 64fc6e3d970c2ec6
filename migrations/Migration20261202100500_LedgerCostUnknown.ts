import { Migration } from '@mikro-orm/migrations';

export class Migration20261202100500_LedgerCostUnknown extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "token_usage_events" alter column "cost_usd" drop not null;`);
    this.addSql(
      `alter table "token_usage_events" add column "cost_unknown" boolean not null default false, add column "usage_estimated" boolean not null default false;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "token_usage_events" drop column "cost_unknown", drop column "usage_estimated";`);
    this.addSql(`update "token_usage_events" set "cost_usd" = 0 where "cost_usd" is null;`);
    this.addSql(`alter table "token_usage_events" alter column "cost_usd" set not null;`);
  }
}
