import type { AgentStatus } from './agents';
import { DEFAULT_RULES, type Rules } from './rules';

/**
 * Whether an agent may create a proposal (ARCHITECTURE §3.1, Eligibility). One pure module used by the API, the
 * proposal pipeline and level-ups, so every caller gives the same answer with the same reasons. Time comes in as
 * `now`, so it is safe in workflows.
 */

type EligibilityRules = Pick<
  Rules,
  'eligibilityPassWindowHours' | 'eligibilityMaxConsecutiveFailures' | 'eligibilityOpenProposalLimit'
>;

const HOUR_MS = 3_600_000;

export interface EligibilityInput {
  status: AgentStatus;
  /** ISO, or null when the agent never passed an exam */
  lastPassedAt: string | null;
  consecutiveFailures: number;
  openProposals: number;
  /** ISO */
  now: string;
}

export interface EligibilityCheck {
  rule: 'active' | 'recent_pass' | 'consecutive_failures' | 'open_proposals';
  ok: boolean;
  detail: string;
}

export interface EligibilityDecision {
  eligible: boolean;
  /** every failed check's detail, or one positive reason when eligible */
  reasons: string[];
  /** every rule, in a fixed order, passed or not */
  checks: EligibilityCheck[];
}

function timeOf(iso: string, field: string): number {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new RangeError(`${field} is not an ISO timestamp: ${iso}`);
  return t;
}

function recentPassCheck(lastPassedAt: string | null, now: string, windowHours: number): EligibilityCheck {
  const nowMs = timeOf(now, 'now');
  if (lastPassedAt === null) return { rule: 'recent_pass', ok: false, detail: 'has never passed an exam' };
  const hours = (nowMs - timeOf(lastPassedAt, 'lastPassedAt')) / HOUR_MS;
  const ok = hours <= windowHours;
  const detail = ok
    ? `passed an exam ${Math.max(0, hours).toFixed(1)} h ago (within ${windowHours} h)`
    : `last passed an exam ${hours.toFixed(1)} h ago (needs a pass within ${windowHours} h)`;
  return { rule: 'recent_pass', ok, detail };
}

/**
 * Decides proposal eligibility: active, passed an exam in the last 24 h (inclusive), ≤ 3 consecutive failures and
 * fewer than 5 open proposals (the default rules). Every decision carries all four checks and its reasons.
 * Throws RangeError when `now` or `lastPassedAt` is not a timestamp.
 */
export function proposalEligibility(
  input: EligibilityInput,
  rules: EligibilityRules = DEFAULT_RULES,
): EligibilityDecision {
  const { status, lastPassedAt, consecutiveFailures, openProposals, now } = input;
  const maxFailures = rules.eligibilityMaxConsecutiveFailures;
  const limit = rules.eligibilityOpenProposalLimit;
  const failuresOk = consecutiveFailures <= maxFailures;
  const proposalsOk = openProposals < limit;
  const checks: EligibilityCheck[] = [
    { rule: 'active', ok: status === 'active', detail: status === 'active' ? 'is active' : `is ${status}` },
    recentPassCheck(lastPassedAt, now, rules.eligibilityPassWindowHours),
    {
      rule: 'consecutive_failures',
      ok: failuresOk,
      detail: `has ${consecutiveFailures} consecutive failures (allows ≤ ${maxFailures})`,
    },
    {
      rule: 'open_proposals',
      ok: proposalsOk,
      detail: `has ${openProposals} open proposals (allows fewer than ${limit})`,
    },
  ];
  const failed = checks.filter((c) => !c.ok);
  const eligible = failed.length === 0;
  const reasons = eligible ? [`eligible: ${checks.map((c) => c.detail).join(', ')}`] : failed.map((c) => c.detail);
  return { eligible, reasons, checks };
}
