import { Migration } from '@mikro-orm/migrations';

/**
 * The answer a provider request settled `ok` with, on its ledger row, keyed on the logical call (workflow run,
 * activity, call within the attempt, the request itself — not the attempt): a retried activity finds it there and is
 * not charged for the same answer twice.
 */
export class Migration20261202092000_LedgerReusableAnswers extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table "token_usage_events" add column "reuse_key" varchar(64) null, add column "answer" jsonb null;`,
    );
    this.addSql(`create index "token_usage_events_reuse_key_index" on "token_usage_events" ("reuse_key");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "token_usage_events_reuse_key_index";`);
    this.addSql(`alter table "token_usage_events" drop column "reuse_key", drop column "answer";`);
  }
}
