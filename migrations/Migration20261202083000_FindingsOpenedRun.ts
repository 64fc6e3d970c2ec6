import { Migration } from '@mikro-orm/migrations';

/**
 * The run that last opened a finding (found it first, or reopened it): "new in this run" is stored with the finding,
 * so a Guardian scan retried after its findings committed still triages and notifies them. Existing findings were
 * last opened by their first run as far as anyone can tell.
 */
export class Migration20261202083000_FindingsOpenedRun extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "findings" add column "opened_run_id" uuid null;`);
    this.addSql(`update "findings" set "opened_run_id" = "first_run_id";`);
    this.addSql(`alter table "findings" alter column "opened_run_id" set not null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "findings" drop column "opened_run_id";`);
  }
}
