import type { AgentId, AgentStatus } from '../domain/agents';

/** What workflows may know about an agent at a point in time (returned by the `getAgentSnapshot` activity). */
export interface AgentSnapshot {
  id: AgentId;
  status: AgentStatus;
  level: number;
  xp: number;
  examsTaken: number;
  consecutiveFailures: number;
  lastPassedAt: string | null;
}
