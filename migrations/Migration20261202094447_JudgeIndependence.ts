import { Migration } from '@mikro-orm/migrations';

export class Migration20261202094447_JudgeIndependence extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "judge_audits" ("id" bigserial primary key, "exam_id" uuid not null, "position" int not null, "judge" varchar(200) not null, "judge_score" numeric(6,2) not null, "auditor" varchar(200) not null, "audit_score" numeric(6,2) not null, "reason" varchar(16) not null, "created_at" timestamptz not null);`,
    );
    this.addSql(`create index "judge_audits_created_at_index" on "judge_audits" ("created_at");`);
    this.addSql(
      `alter table "judge_audits" add constraint "judge_audits_exam_id_position_unique" unique ("exam_id", "position");`,
    );

    this.addSql(
      `alter table "exams" add column "models" jsonb null, add column "judge_independence" varchar(32) null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "judge_audits" cascade;`);

    this.addSql(`alter table "exams" drop column "models", drop column "judge_independence";`);
  }
}
