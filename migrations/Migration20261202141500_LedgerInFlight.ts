import { Migration } from '@mikro-orm/migrations';

/**
 * A request in flight stamps its `unknown` ledger row alive (`seen_at`) while its process waits for the provider, and
 * the row carries its logical call's `reuse_key` from the start: a retry of the same call that finds it there, stamped
 * recently, waits for that answer instead of sending the call — and paying for it — a second time.
 */
export class Migration20261202141500_LedgerInFlight extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "token_usage_events" add column "seen_at" timestamptz null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "token_usage_events" drop column "seen_at";`);
  }
}
