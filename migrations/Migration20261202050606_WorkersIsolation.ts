import { Migration } from '@mikro-orm/migrations';

/** Workers announce their sandbox (the API shows the isolation mode), and every agent run records the one it ran under. */
export class Migration20261202050606_WorkersIsolation extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "worker_registrations" ("identity" varchar(200) not null, "host" varchar(255) not null, "pid" int not null, "task_queue" varchar(100) not null, "sandbox" jsonb not null, "started_at" timestamptz not null, "seen_at" timestamptz not null, constraint "worker_registrations_pkey" primary key ("identity"));`,
    );
    this.addSql(`create index "worker_registrations_seen_at_index" on "worker_registrations" ("seen_at");`);

    this.addSql(`alter table "agent_runs" add column "isolation" varchar(16) null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "worker_registrations" cascade;`);

    this.addSql(`alter table "agent_runs" drop column "isolation";`);
  }
}
