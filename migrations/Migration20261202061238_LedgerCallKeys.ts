import { Migration } from '@mikro-orm/migrations';

export class Migration20261202061238_LedgerCallKeys extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "token_usage_events" add column "call_key" varchar(400) null;`);
    this.addSql(
      `alter table "token_usage_events" add constraint "token_usage_events_call_key_unique" unique ("call_key");`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "token_usage_events" drop constraint "token_usage_events_call_key_unique";`);
    this.addSql(`alter table "token_usage_events" drop column "call_key";`);
  }
}
