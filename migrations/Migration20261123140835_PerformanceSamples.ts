import { Migration } from '@mikro-orm/migrations';

/** Conquest's measurements of the target, per run and commit (ARCHITECTURE §3.5). */
export class Migration20261123140835_PerformanceSamples extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "performance_samples" ("id" bigserial primary key, "repository_id" uuid not null, "run_id" uuid not null, "commit" varchar(64) not null, "name" varchar(200) not null, "source" varchar(16) not null, "ms" double precision not null, "at" timestamptz not null);`,
    );
    this.addSql(
      `create index "performance_samples_repository_id_name_at_index" on "performance_samples" ("repository_id", "name", "at");`,
    );
    this.addSql(
      `alter table "performance_samples" add constraint "performance_samples_run_id_name_unique" unique ("run_id", "name");`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "performance_samples" cascade;`);
  }
}
