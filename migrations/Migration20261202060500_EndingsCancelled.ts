import { Migration } from '@mikro-orm/migrations';

/**
 * A `cancelled` ending for exams, proposals and agent runs: a workflow cancelled, terminated or timed out in Temporal
 * ends its row there (the reconciler or the workflow's own cleanup), applying nothing.
 */
export class Migration20261202060500_EndingsCancelled extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "exams" drop constraint if exists "exams_status_check";`);
    this.addSql(
      `alter table "exams" add constraint "exams_status_check" check ("status" in ('running', 'passed', 'failed', 'error', 'skipped', 'cancelled'));`,
    );
    this.addSql(`alter table "agent_runs" drop constraint if exists "agent_runs_status_check";`);
    this.addSql(
      `alter table "agent_runs" add constraint "agent_runs_status_check" check ("status" in ('running', 'completed', 'failed', 'skipped', 'cancelled'));`,
    );
    this.addSql(`alter table "proposals" drop constraint if exists "proposals_status_check";`);
    this.addSql(
      `alter table "proposals" add constraint "proposals_status_check" check ("status" in ('drafting', 'validating', 'testing', 'reviewing', 'awaiting_review', 'applying', 'applied', 'rejected', 'expired', 'invalid', 'failed_tests', 'blocked', 'ineligible', 'apply_failed', 'failed', 'cancelled'));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "exams" drop constraint if exists "exams_status_check";`);
    this.addSql(
      `alter table "exams" add constraint "exams_status_check" check ("status" in ('running', 'passed', 'failed', 'error', 'skipped'));`,
    );
    this.addSql(`alter table "agent_runs" drop constraint if exists "agent_runs_status_check";`);
    this.addSql(
      `alter table "agent_runs" add constraint "agent_runs_status_check" check ("status" in ('running', 'completed', 'failed', 'skipped'));`,
    );
    this.addSql(`alter table "proposals" drop constraint if exists "proposals_status_check";`);
    this.addSql(
      `alter table "proposals" add constraint "proposals_status_check" check ("status" in ('drafting', 'validating', 'testing', 'reviewing', 'awaiting_review', 'applying', 'applied', 'rejected', 'expired', 'invalid', 'failed_tests', 'blocked', 'ineligible', 'apply_failed', 'failed'));`,
    );
  }
}
