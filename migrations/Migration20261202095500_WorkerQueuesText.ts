import { Migration } from '@mikro-orm/migrations';

/**
 * A worker registers the task queues it polls joined by commas: three queues (`<base>`, `<base>-llm`,
 * `<base>-sandbox`) overflowed varchar(100) once the base name passed ~29 characters and the worker failed to start
 * ("value too long"). Temporal allows names of up to 1000 characters: the column is unbounded text.
 */
export class Migration20261202095500_WorkerQueuesText extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "worker_registrations" alter column "task_queue" type text using ("task_queue"::text);`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "worker_registrations" alter column "task_queue" type varchar(100) using ("task_queue"::varchar(100));`);
  }
}
