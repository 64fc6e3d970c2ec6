import { Migration } from '@mikro-orm/migrations';

/** Proposals and their timelines (ARCHITECTURE §3.6). */
export class Migration20261123152848_Proposals extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "proposals" ("id" uuid not null, "workflow_id" varchar(255) not null, "agent_id" varchar(32) not null, "repository_id" uuid null, "finding_id" uuid null, "goal" text null, "trigger" varchar(16) not null, "requested_by" varchar(100) null, "status" varchar(20) not null, "title" varchar(300) null, "rationale" text null, "risk" text null, "diff" text null, "diff_hash" varchar(64) null, "changed_files" jsonb not null, "changed_lines" int not null, "drafts" int not null, "base_commit" varchar(64) null, "branch" varchar(100) null, "commit" varchar(64) null, "eligibility" jsonb null, "validation" jsonb null, "tests" jsonb null, "guardian_review" jsonb null, "review" jsonb null, "error" text null, "learned_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "completed_at" timestamptz null, constraint "proposals_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "proposals" add constraint "proposals_workflow_id_unique" unique ("workflow_id");`);
    this.addSql(`create index "proposals_status_created_at_index" on "proposals" ("status", "created_at");`);
    this.addSql(`create index "proposals_agent_id_status_index" on "proposals" ("agent_id", "status");`);
    this.addSql(`create index "proposals_diff_hash_index" on "proposals" ("diff_hash");`);
    this.addSql(`create index "proposals_finding_id_index" on "proposals" ("finding_id");`);

    this.addSql(
      `create table "proposal_events" ("id" bigserial primary key, "proposal_id" uuid not null, "seq" int not null, "state" varchar(20) not null, "detail" text null, "data" jsonb not null, "at" timestamptz not null);`,
    );
    this.addSql(
      `alter table "proposal_events" add constraint "proposal_events_proposal_id_seq_unique" unique ("proposal_id", "seq");`,
    );
    this.addSql(
      `alter table "proposals" add constraint "proposals_status_check" check ("status" in ('drafting', 'validating', 'testing', 'reviewing', 'awaiting_review', 'applying', 'applied', 'rejected', 'expired', 'invalid', 'failed_tests', 'blocked', 'ineligible', 'apply_failed', 'failed'));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "proposal_events" cascade;`);
    this.addSql(`drop table if exists "proposals" cascade;`);
  }
}
