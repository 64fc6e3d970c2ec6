import { Migration } from '@mikro-orm/migrations';

/**
 * The operator surface (ARCHITECTURE §5, §6): webhook deliveries with their attempts, secrets encrypted at rest, and a
 * notification sequence for the SSE stream's `Last-Event-ID`.
 */
export class Migration20261123154532_OperatorSurface extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "stored_secrets" ("name" varchar(100) not null, "ciphertext" text not null, "key_id" varchar(32) not null, "updated_by" varchar(100) null, "updated_at" timestamptz not null, constraint "stored_secrets_pkey" primary key ("name"));`,
    );

    this.addSql(
      `create table "webhook_deliveries" ("id" uuid not null, "notification_id" uuid not null, "url" text not null, "status" varchar(16) not null, "attempts" jsonb not null, "last_error" text null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "delivered_at" timestamptz null, constraint "webhook_deliveries_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create index "webhook_deliveries_status_created_at_index" on "webhook_deliveries" ("status", "created_at");`,
    );
    this.addSql(
      `alter table "webhook_deliveries" add constraint "webhook_deliveries_notification_id_url_unique" unique ("notification_id", "url");`,
    );
    this.addSql(
      `alter table "webhook_deliveries" add constraint "webhook_deliveries_status_check" check ("status" in ('pending', 'delivered', 'failed'));`,
    );
    // Existing rows are numbered in creation order; new ones take the sequence's next value.
    this.addSql(`alter table "notifications" add column "seq" bigint;`);
    this.addSql(`create sequence "notifications_seq_seq" owned by "notifications"."seq";`);
    this.addSql(
      `update "notifications" n set "seq" = o.rn from (select id, row_number() over (order by created_at, id) as rn from "notifications") o where n.id = o.id;`,
    );
    this.addSql(
      `select setval('notifications_seq_seq', coalesce((select max("seq") from "notifications"), 0) + 1, false);`,
    );
    this.addSql(
      `alter table "notifications" alter column "seq" set default nextval('notifications_seq_seq'), alter column "seq" set not null;`,
    );
    this.addSql(`alter table "notifications" add constraint "notifications_seq_unique" unique ("seq");`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "notifications" drop column if exists "seq";`);
    this.addSql(`drop table if exists "stored_secrets" cascade;`);

    this.addSql(`drop table if exists "webhook_deliveries" cascade;`);
  }
}
