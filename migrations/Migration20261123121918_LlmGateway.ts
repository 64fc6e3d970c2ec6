import { Migration } from '@mikro-orm/migrations';

export class Migration20261123121918_LlmGateway extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "llm_budgets" ("scope" varchar(40) not null, "monthly_tokens" bigint null, "monthly_usd" numeric(14,6) null, "updated_at" timestamptz not null, "updated_by" varchar(100) null, constraint "llm_budgets_pkey" primary key ("scope"));`,
    );

    this.addSql(
      `create table "llm_budget_reservations" ("id" uuid not null, "month" varchar(7) not null, "scopes" text[] not null, "tokens" bigint not null, "usd" numeric(14,6) not null, "expires_at" timestamptz not null, constraint "llm_budget_reservations_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create index "llm_budget_reservations_month_expires_at_index" on "llm_budget_reservations" ("month", "expires_at");`,
    );

    this.addSql(
      `create table "llm_budget_usage" ("scope" varchar(40) not null, "month" varchar(7) not null, "used_tokens" bigint not null default 0, "used_usd" numeric(14,6) not null default 0, constraint "llm_budget_usage_pkey" primary key ("scope", "month"));`,
    );

    this.addSql(
      `create table "llm_cache_entries" ("key" varchar(64) not null, "value" jsonb not null, "expires_at" timestamptz not null, constraint "llm_cache_entries_pkey" primary key ("key"));`,
    );
    this.addSql(`create index "llm_cache_entries_expires_at_index" on "llm_cache_entries" ("expires_at");`);

    this.addSql(
      `create table "token_usage_events" ("id" bigserial primary key, "at" timestamptz not null, "month" varchar(7) not null, "agent_id" varchar(32) null, "purpose" varchar(100) not null, "provider" varchar(20) not null, "model" varchar(200) not null, "workflow_id" varchar(255) null, "activity_id" varchar(255) null, "attempt" int null, "input_tokens" int not null, "output_tokens" int not null, "cost_usd" numeric(14,6) not null, "latency_ms" int not null, "outcome" varchar(20) not null, "cache_hit" boolean not null, "error" text null);`,
    );
    this.addSql(`create index "token_usage_events_at_index" on "token_usage_events" ("at");`);
    this.addSql(
      `create index "token_usage_events_month_agent_id_index" on "token_usage_events" ("month", "agent_id");`,
    );
    this.addSql(
      `create index "token_usage_events_month_provider_index" on "token_usage_events" ("month", "provider");`,
    );
    this.addSql(`create index "token_usage_events_workflow_id_index" on "token_usage_events" ("workflow_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "llm_budgets" cascade;`);

    this.addSql(`drop table if exists "llm_budget_reservations" cascade;`);

    this.addSql(`drop table if exists "llm_budget_usage" cascade;`);

    this.addSql(`drop table if exists "llm_cache_entries" cascade;`);

    this.addSql(`drop table if exists "token_usage_events" cascade;`);
  }
}
