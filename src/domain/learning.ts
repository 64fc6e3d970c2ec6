import { AGENT_CATEGORIES, INITIAL_SKILL_RATING, type AgentId, type ExamCategory } from './agents';

/**
 * The learning cycle's pure rules (ARCHITECTURE §3.2): which categories an agent is weakest in (the plan without a
 * model) and which findings are worth a proposal. Safe in workflows.
 */

/** Topics the plan falls back to per agent when no model chooses them. */
export const FALLBACK_TOPICS = 2;
/** Topics and notes per agent and cycle. */
export const MAX_TOPICS = 3;
export const MAX_NOTES = 3;

export interface CategoryStanding {
  category: ExamCategory;
  rating: number;
  /** pass rate over the last 10 exams in the category; null when never examined */
  passRate: number | null;
  exams: number;
}

/**
 * The agent's categories from weakest to strongest: lowest rating first, then the lowest pass rate (a category never
 * examined counts as 0), then the order the agent's categories are listed in. A category without a standing counts as
 * rated 1200 and never examined; standings of other categories are ignored.
 */
export function weakestCategories(agentId: AgentId, standings: readonly CategoryStanding[]): ExamCategory[] {
  const order = AGENT_CATEGORIES[agentId];
  const byCategory = new Map(standings.map((s) => [s.category, s]));
  return [...order].sort((a, b) => {
    const sa = byCategory.get(a);
    const sb = byCategory.get(b);
    const rating = (sa?.rating ?? INITIAL_SKILL_RATING) - (sb?.rating ?? INITIAL_SKILL_RATING);
    if (rating !== 0) return rating;
    const rate = (sa?.passRate ?? 0) - (sb?.passRate ?? 0);
    if (rate !== 0) return rate;
    return order.indexOf(a) - order.indexOf(b);
  });
}

export interface FindingForProposal {
  id: string;
  agentId: string;
  kind: 'security' | 'experiment' | 'performance';
  severity: 'low' | 'medium' | 'high' | 'critical';
  status: 'open' | 'dismissed' | 'resolved';
  triageVerdict: 'true_positive' | 'false_positive' | 'needs_review' | null;
  proposed: boolean;
}

const SEVERITY_RANK = { low: 0, medium: 1, high: 2, critical: 3 } as const;

/**
 * Whether a finding is worth a proposal: open, not yet proposed, not triaged as a false positive, and for security
 * findings at least medium severity (low ones are lint noise until triage says otherwise).
 */
export function isActionable(f: FindingForProposal): boolean {
  if (f.status !== 'open' || f.proposed || f.triageVerdict === 'false_positive') return false;
  if (f.kind === 'security')
    return SEVERITY_RANK[f.severity] >= SEVERITY_RANK.medium || f.triageVerdict === 'true_positive';
  return true;
}

/** The finding an agent should propose for first: the most severe actionable one, then the oldest (input order). */
export function bestProposalCandidate<T extends FindingForProposal>(findings: readonly T[]): T | null {
  let best: T | null = null;
  for (const f of findings) {
    if (!isActionable(f)) continue;
    if (best === null || SEVERITY_RANK[f.severity] > SEVERITY_RANK[best.severity]) best = f;
  }
  return best;
}
