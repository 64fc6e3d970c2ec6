import { Migration } from '@mikro-orm/migrations';

export class Migration20261202093000_ExamRules extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "exams" add column "rules" jsonb null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "exams" drop column "rules";`);
  }
}
