/**
 * The four agents and the exam categories each one takes (ARCHITECTURE §1, §3.1). Pure data, safe in workflows.
 */
export const AGENT_IDS = ['imperium', 'guardian', 'sandbox', 'conquest'] as const;
export type AgentId = (typeof AGENT_IDS)[number];

export const EXAM_CATEGORIES = [
  'knowledge_verification',
  'cross_ai_collaboration',
  'self_improvement',
  'security_awareness',
  'code_quality',
  'performance_optimization',
  'innovation_capability',
  'experimental_validation',
] as const;
export type ExamCategory = (typeof EXAM_CATEGORIES)[number];

export const AGENT_CATEGORIES: Readonly<Record<AgentId, readonly ExamCategory[]>> = {
  imperium: ['knowledge_verification', 'cross_ai_collaboration', 'self_improvement'],
  guardian: ['security_awareness', 'code_quality', 'performance_optimization'],
  sandbox: ['innovation_capability', 'experimental_validation', 'code_quality'],
  conquest: ['performance_optimization', 'code_quality', 'innovation_capability'],
};

export const AGENT_STATUSES = ['active', 'paused'] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

export const INITIAL_SKILL_RATING = 1200;

/** Narrows an arbitrary string to an agent id. */
export function isAgentId(value: string): value is AgentId {
  return (AGENT_IDS as readonly string[]).includes(value);
}
