import { Migration } from '@mikro-orm/migrations';

export class Migration20261202082416_ExamAnswerClock extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table "exam_items" add column "answer_ms" int null, add column "answer_timed_out_at" timestamptz null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "exam_items" drop column "answer_ms", drop column "answer_timed_out_at";`);
  }
}
