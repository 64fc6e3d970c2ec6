import { Migration } from '@mikro-orm/migrations';

/**
 * At most one live (non-terminal) proposal per finding: two learning cycles or API requests racing for one finding
 * cannot both start one (the loser is recorded ineligible). The states are OPEN_PROPOSAL_STATES.
 */
export class Migration20261202062700_OneLiveProposalPerFinding extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create unique index "proposals_one_live_per_finding" on "proposals" ("finding_id") where "finding_id" is not null and "status" in ('drafting', 'validating', 'testing', 'reviewing', 'awaiting_review', 'applying');`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "proposals_one_live_per_finding";`);
  }
}
