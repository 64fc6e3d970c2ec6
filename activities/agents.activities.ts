import { ApplicationFailure } from '@temporalio/common';
import type { AgentSnapshot } from '../src/contracts';
import { Agent } from '../src/db/entities';
import { isAgentId } from '../src/domain/agents';
import type { ActivityDeps } from './deps';

/** Agent reads that workflows need (status for skipping paused agents, progression for eligibility). */
export function createAgentActivities({ orm }: Pick<ActivityDeps, 'orm'>) {
  return {
    /** Reads one agent; throws non-retryable `AgentNotFound` for an unknown id. */
    async getAgentSnapshot(agentId: string): Promise<AgentSnapshot> {
      const agent = isAgentId(agentId) ? await orm.em.fork().findOne(Agent, { id: agentId }) : null;
      if (agent === null) throw ApplicationFailure.nonRetryable(`no agent with id "${agentId}"`, 'AgentNotFound');
      return {
        id: agent.id,
        status: agent.status,
        level: agent.level,
        xp: agent.xp,
        examsTaken: agent.examsTaken,
        consecutiveFailures: agent.consecutiveFailures,
        lastPassedAt: agent.lastPassedAt?.toISOString() ?? null,
      };
    },
  };
}
