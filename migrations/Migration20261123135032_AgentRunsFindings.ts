import { Migration } from '@mikro-orm/migrations';

/** Agents' own runs (scans, experiments, analyses, learning cycles) and the findings they keep (ARCHITECTURE §3.2–3.5). */
export class Migration20261123135032_AgentRunsFindings extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "agent_runs" ("id" uuid not null, "workflow_id" varchar(255) not null, "agent_id" varchar(32) not null, "kind" varchar(32) not null, "trigger" varchar(16) not null, "requested_by" varchar(100) null, "status" varchar(16) not null, "repository_id" uuid null, "commit" varchar(64) null, "steps" jsonb not null, "summary" jsonb not null, "error" text null, "started_at" timestamptz not null, "completed_at" timestamptz null, constraint "agent_runs_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "agent_runs" add constraint "agent_runs_workflow_id_unique" unique ("workflow_id");`);
    this.addSql(`create index "agent_runs_kind_started_at_index" on "agent_runs" ("kind", "started_at");`);
    this.addSql(`create index "agent_runs_agent_id_started_at_index" on "agent_runs" ("agent_id", "started_at");`);

    this.addSql(
      `create table "findings" ("id" uuid not null, "repository_id" uuid not null, "agent_id" varchar(32) not null, "kind" varchar(16) not null, "tool" varchar(40) not null, "rule" varchar(200) not null, "severity" varchar(16) not null, "title" varchar(300) not null, "message" text not null, "file" text null, "line" int null, "fingerprint" varchar(64) not null, "status" varchar(16) not null, "triage" jsonb null, "data" jsonb not null, "first_run_id" uuid not null, "last_run_id" uuid not null, "first_seen_at" timestamptz not null, "last_seen_at" timestamptz not null, "resolved_at" timestamptz null, "dismissed_at" timestamptz null, "dismissed_by" varchar(100) null, "dismiss_reason" text null, constraint "findings_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "findings_status_severity_index" on "findings" ("status", "severity");`);
    this.addSql(`create index "findings_agent_id_kind_status_index" on "findings" ("agent_id", "kind", "status");`);
    this.addSql(
      `alter table "findings" add constraint "findings_repository_id_fingerprint_unique" unique ("repository_id", "fingerprint");`,
    );

    this.addSql(
      `alter table "agent_runs" add constraint "agent_runs_status_check" check ("status" in ('running', 'completed', 'failed', 'skipped'));`,
    );
    this.addSql(
      `alter table "findings" add constraint "findings_status_check" check ("status" in ('open', 'dismissed', 'resolved'));`,
    );
    this.addSql(
      `alter table "findings" add constraint "findings_severity_check" check ("severity" in ('low', 'medium', 'high', 'critical'));`,
    );
    this.addSql(
      `alter table "findings" add constraint "findings_repository_fk" foreign key ("repository_id") references "repositories" ("id") on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "agent_runs" cascade;`);

    this.addSql(`drop table if exists "findings" cascade;`);
  }
}
