import { Migration } from '@mikro-orm/migrations';

export class Migration20261123094011_Initial extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "agents" ("id" varchar(32) not null, "name" varchar(64) not null, "role" varchar(64) not null, "description" text not null, "status" varchar(16) not null, "status_reason" text null, "status_changed_at" timestamptz null, "level" int not null, "xp" int not null, "exams_taken" int not null, "exams_passed" int not null, "exams_failed" int not null, "consecutive_passes" int not null, "consecutive_failures" int not null, "last_exam_at" timestamptz null, "last_passed_at" timestamptz null, "level_hold_reason" text null, "llm_provider" varchar(32) null, "llm_model" varchar(128) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "agents_pkey" primary key ("id"));`,
    );

    this.addSql(
      `create table "agent_skill_ratings" ("agent_id" varchar(32) not null, "category" varchar(64) not null, "rating" double precision not null, "exams_count" int not null, "updated_at" timestamptz not null, constraint "agent_skill_ratings_pkey" primary key ("agent_id", "category"));`,
    );

    this.addSql(
      `create table "api_keys" ("id" uuid not null, "name" varchar(100) not null, "role" varchar(16) not null, "key_hash" varchar(64) not null, "prefix" varchar(16) not null, "created_by" varchar(100) null, "created_at" timestamptz not null, "last_used_at" timestamptz null, "revoked_at" timestamptz null, constraint "api_keys_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "api_keys" add constraint "api_keys_key_hash_unique" unique ("key_hash");`);

    this.addSql(
      `create table "audit_log" ("id" bigserial primary key, "at" timestamptz not null, "actor_key_id" uuid null, "actor_name" varchar(100) null, "actor_role" varchar(16) null, "method" varchar(10) not null, "path" text not null, "action" varchar(100) not null, "target" varchar(200) null, "status" int not null, "ip" varchar(64) null, "user_agent" text null, "request_id" varchar(64) not null);`,
    );
    this.addSql(`create index "audit_log_at_index" on "audit_log" ("at");`);
    this.addSql(`create index "audit_log_actor_key_id_at_index" on "audit_log" ("actor_key_id", "at");`);

    this.addSql(
      `create table "notifications" ("id" uuid not null, "kind" varchar(40) not null, "title" varchar(200) not null, "message" text not null, "priority" varchar(16) not null, "data" jsonb not null, "dedupe_key" varchar(200) null, "read" boolean not null, "read_at" timestamptz null, "created_at" timestamptz not null, constraint "notifications_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "notifications" add constraint "notifications_dedupe_key_unique" unique ("dedupe_key");`);
    this.addSql(`create index "notifications_created_at_index" on "notifications" ("created_at");`);
    this.addSql(`create index "notifications_read_created_at_index" on "notifications" ("read", "created_at");`);

    this.addSql(
      `create table "repositories" ("id" uuid not null, "name" varchar(200) not null, "path" text not null, "default_branch" varchar(200) null, "test_cmd" text not null, "bench_cmd" text null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "repositories_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "repositories" add constraint "repositories_path_unique" unique ("path");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "agents" cascade;`);

    this.addSql(`drop table if exists "agent_skill_ratings" cascade;`);

    this.addSql(`drop table if exists "api_keys" cascade;`);

    this.addSql(`drop table if exists "audit_log" cascade;`);

    this.addSql(`drop table if exists "notifications" cascade;`);

    this.addSql(`drop table if exists "repositories" cascade;`);
  }
}
