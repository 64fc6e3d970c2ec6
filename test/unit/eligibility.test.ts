import { proposalEligibility, type EligibilityInput } from '../../src/domain/eligibility';

const NOW = '2026-03-10T12:00:00.000Z';
const hoursBefore = (hours: number, extraMs = 0): string =>
  new Date(Date.parse(NOW) - hours * 3_600_000 - extraMs).toISOString();
const eligibleAgent: EligibilityInput = {
  status: 'active',
  lastPassedAt: hoursBefore(2),
  consecutiveFailures: 0,
  openProposals: 0,
  now: NOW,
};

describe('proposal eligibility', () => {
  it('admits an active agent with a recent pass, few failures and few open proposals, with one reason', () => {
    const decision = proposalEligibility(eligibleAgent);
    expect(decision.eligible).toBe(true);
    expect(decision.reasons).toHaveLength(1);
    expect(decision.reasons[0]).toMatch(/^eligible: /);
    expect(decision.checks.map((c) => [c.rule, c.ok])).toEqual([
      ['active', true],
      ['recent_pass', true],
      ['consecutive_failures', true],
      ['open_proposals', true],
    ]);
  });

  it('refuses a paused agent', () => {
    const decision = proposalEligibility({ ...eligibleAgent, status: 'paused' });
    expect(decision).toMatchObject({ eligible: false, reasons: ['is paused'] });
  });

  it('refuses an agent that never passed an exam', () => {
    expect(proposalEligibility({ ...eligibleAgent, lastPassedAt: null })).toMatchObject({
      eligible: false,
      reasons: ['has never passed an exam'],
    });
  });

  it('counts a pass exactly 24 h ago as recent, and one a millisecond older as not', () => {
    expect(proposalEligibility({ ...eligibleAgent, lastPassedAt: hoursBefore(24) }).eligible).toBe(true);
    const stale = proposalEligibility({ ...eligibleAgent, lastPassedAt: hoursBefore(24, 1) });
    expect(stale.eligible).toBe(false);
    expect(stale.reasons).toEqual(['last passed an exam 24.0 h ago (needs a pass within 24 h)']);
  });

  it('allows 3 consecutive failures and refuses 4', () => {
    expect(proposalEligibility({ ...eligibleAgent, consecutiveFailures: 3 }).eligible).toBe(true);
    expect(proposalEligibility({ ...eligibleAgent, consecutiveFailures: 4 })).toMatchObject({
      eligible: false,
      reasons: ['has 4 consecutive failures (allows ≤ 3)'],
    });
  });

  it('allows 4 open proposals and refuses 5', () => {
    expect(proposalEligibility({ ...eligibleAgent, openProposals: 4 }).eligible).toBe(true);
    expect(proposalEligibility({ ...eligibleAgent, openProposals: 5 })).toMatchObject({
      eligible: false,
      reasons: ['has 5 open proposals (allows fewer than 5)'],
    });
  });

  it('lists every failed condition', () => {
    const decision = proposalEligibility({
      status: 'paused',
      lastPassedAt: null,
      consecutiveFailures: 4,
      openProposals: 5,
      now: NOW,
    });
    expect(decision.eligible).toBe(false);
    expect(decision.reasons).toHaveLength(4);
    expect(decision.checks.every((c) => !c.ok)).toBe(true);
  });

  it('refuses a time that is not a timestamp', () => {
    expect(() => proposalEligibility({ ...eligibleAgent, now: 'now' })).toThrow(RangeError);
    expect(() => proposalEligibility({ ...eligibleAgent, lastPassedAt: 'last week' })).toThrow(RangeError);
  });
});
