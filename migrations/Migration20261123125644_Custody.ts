import { Migration } from '@mikro-orm/migrations';

/** Custody exams, their items (answers and gradings inline), rating history and knowledge notes (ARCHITECTURE §3.1). */
export class Migration20261123125644_Custody extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "exams" ("id" uuid not null, "workflow_id" varchar(255) not null, "agent_id" varchar(32) not null, "category" varchar(64) not null, "difficulty" varchar(16) not null, "olympus" boolean not null, "exam_number" int not null, "pass_mark" int not null, "time_limit_seconds" int not null, "item_count" int not null, "trigger" varchar(16) not null, "requested_by" varchar(100) null, "status" varchar(16) not null, "steps" jsonb not null, "score" numeric(6,2) null, "borderline" boolean not null, "outcome" jsonb null, "error" text null, "started_at" timestamptz not null, "completed_at" timestamptz null, constraint "exams_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "exams" add constraint "exams_workflow_id_unique" unique ("workflow_id");`);
    this.addSql(`create index "exams_agent_id_started_at_index" on "exams" ("agent_id", "started_at");`);
    this.addSql(
      `create index "exams_agent_id_category_completed_at_index" on "exams" ("agent_id", "category", "completed_at");`,
    );

    this.addSql(
      `create table "exam_items" ("id" bigserial primary key, "exam_id" uuid not null, "position" int not null, "kind" varchar(8) not null, "prompt" text not null, "normalized_prompt" text not null, "rubric" jsonb null, "hidden_tests" jsonb null, "answer" text null, "answered_at" timestamptz null, "grading" jsonb null, "graded_at" timestamptz null, "created_at" timestamptz not null);`,
    );
    this.addSql(`create index "exam_items_normalized_prompt_index" on "exam_items" ("normalized_prompt");`);
    this.addSql(
      `alter table "exam_items" add constraint "exam_items_exam_id_position_unique" unique ("exam_id", "position");`,
    );

    this.addSql(
      `create table "knowledge_notes" ("id" uuid not null, "agent_id" varchar(32) not null, "category" varchar(64) null, "title" varchar(300) not null, "body" text not null, "sources" jsonb not null, "created_at" timestamptz not null, constraint "knowledge_notes_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create index "knowledge_notes_agent_id_created_at_index" on "knowledge_notes" ("agent_id", "created_at");`,
    );
    this.addSql(
      `create index "knowledge_notes_search_index" on "knowledge_notes" using gin (to_tsvector('english', "title" || ' ' || "body"));`,
    );

    this.addSql(
      `create table "skill_rating_events" ("id" bigserial primary key, "agent_id" varchar(32) not null, "category" varchar(64) not null, "exam_id" uuid not null, "score" double precision not null, "rating_before" double precision not null, "rating_after" double precision not null, "at" timestamptz not null);`,
    );
    this.addSql(
      `create index "skill_rating_events_agent_id_category_at_index" on "skill_rating_events" ("agent_id", "category", "at");`,
    );
    this.addSql(
      `alter table "skill_rating_events" add constraint "skill_rating_events_exam_id_unique" unique ("exam_id");`,
    );

    this.addSql(
      `alter table "exams" add constraint "exams_agent_fk" foreign key ("agent_id") references "agents" ("id");`,
    );
    this.addSql(
      `alter table "exams" add constraint "exams_status_check" check ("status" in ('running', 'passed', 'failed', 'error', 'skipped'));`,
    );
    this.addSql(
      `alter table "exam_items" add constraint "exam_items_exam_fk" foreign key ("exam_id") references "exams" ("id") on delete cascade;`,
    );
    this.addSql(`alter table "exam_items" add constraint "exam_items_kind_check" check ("kind" in ('open', 'code'));`);
    this.addSql(
      `alter table "knowledge_notes" add constraint "knowledge_notes_agent_fk" foreign key ("agent_id") references "agents" ("id");`,
    );
    // At most one running exam per agent: the database, not a race-prone check, answers the API's 409.
    this.addSql(
      `create unique index "exams_one_running_per_agent" on "exams" ("agent_id") where "status" = 'running';`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "exams" cascade;`);

    this.addSql(`drop table if exists "exam_items" cascade;`);

    this.addSql(`drop table if exists "knowledge_notes" cascade;`);

    this.addSql(`drop table if exists "skill_rating_events" cascade;`);
  }
}
