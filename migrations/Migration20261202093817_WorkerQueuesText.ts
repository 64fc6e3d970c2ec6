import { Migration } from '@mikro-orm/migrations';

export class Migration20261202093817_WorkerQueuesText extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "worker_registrations" alter column "task_queue" type text using ("task_queue"::text);`);
  }

  override async down(): Promise<void> {
    this.addSql(
      `alter table "worker_registrations" alter column "task_queue" type varchar(100) using ("task_queue"::varchar(100));`,
    );
  }
}
