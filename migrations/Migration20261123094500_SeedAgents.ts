import { Migration } from '@mikro-orm/migrations';

/** Seeds the four agents (fixed ids) with a 1200 rating in each of their exam categories, and adds integrity checks. */
export class Migration20261123094500_SeedAgents extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "agents" add constraint "agents_status_check" check ("status" in ('active', 'paused'));`);
    this.addSql(`alter table "agents" add constraint "agents_progress_check" check ("level" >= 1 and "xp" >= 0);`);
    this.addSql(
      `alter table "agent_skill_ratings" add constraint "agent_skill_ratings_agent_fk" foreign key ("agent_id") references "agents" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "api_keys" add constraint "api_keys_role_check" check ("role" in ('viewer', 'operator', 'admin'));`,
    );
    this
      .addSql(`insert into "agents" ("id", "name", "role", "description", "status", "level", "xp", "exams_taken", "exams_passed",
        "exams_failed", "consecutive_passes", "consecutive_failures", "created_at", "updated_at") values
      ('imperium', 'Imperium', 'coordinator', 'Coordinator and learner: runs the learning cycle, chooses what each agent studies, writes knowledge notes.', 'active', 1, 0, 0, 0, 0, 0, 0, now(), now()),
      ('guardian', 'Guardian', 'security', 'Security: scans the target repository, triages findings, reviews every proposal''s diff.', 'active', 1, 0, 0, 0, 0, 0, 0, now(), now()),
      ('sandbox', 'Sandbox', 'experiments', 'Experiments: runs the target''s tests in isolation, designs and runs new tests, validates every proposal.', 'active', 1, 0, 0, 0, 0, 0, 0, now(), now()),
      ('conquest', 'Conquest', 'performance', 'Performance: measures benchmarks and test timings, detects regressions, proposes speed-ups.', 'active', 1, 0, 0, 0, 0, 0, 0, now(), now())
      on conflict ("id") do nothing;`);
    this
      .addSql(`insert into "agent_skill_ratings" ("agent_id", "category", "rating", "exams_count", "updated_at") values
      ('imperium', 'knowledge_verification', 1200, 0, now()),
      ('imperium', 'cross_ai_collaboration', 1200, 0, now()),
      ('imperium', 'self_improvement', 1200, 0, now()),
      ('guardian', 'security_awareness', 1200, 0, now()),
      ('guardian', 'code_quality', 1200, 0, now()),
      ('guardian', 'performance_optimization', 1200, 0, now()),
      ('sandbox', 'innovation_capability', 1200, 0, now()),
      ('sandbox', 'experimental_validation', 1200, 0, now()),
      ('sandbox', 'code_quality', 1200, 0, now()),
      ('conquest', 'performance_optimization', 1200, 0, now()),
      ('conquest', 'code_quality', 1200, 0, now()),
      ('conquest', 'innovation_capability', 1200, 0, now())
      on conflict do nothing;`);
  }

  override async down(): Promise<void> {
    this.addSql(
      `delete from "agent_skill_ratings" where "agent_id" in ('imperium', 'guardian', 'sandbox', 'conquest');`,
    );
    this.addSql(`delete from "agents" where "id" in ('imperium', 'guardian', 'sandbox', 'conquest');`);
    this.addSql(`alter table "api_keys" drop constraint if exists "api_keys_role_check";`);
    this.addSql(`alter table "agent_skill_ratings" drop constraint if exists "agent_skill_ratings_agent_fk";`);
    this.addSql(`alter table "agents" drop constraint if exists "agents_progress_check";`);
    this.addSql(`alter table "agents" drop constraint if exists "agents_status_check";`);
  }
}
