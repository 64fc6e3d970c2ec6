import { Migration } from '@mikro-orm/migrations';

/**
 * The audit log records failed authentications too: `key_prefix` holds the first characters of the key presented
 * (never the key), so an operator can tell a mistyped key from a guessing run.
 */
export class Migration20261202142246_AuditKeyPrefix extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "audit_log" add column "key_prefix" varchar(10) null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "audit_log" drop column "key_prefix";`);
  }
}
