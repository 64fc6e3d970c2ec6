import { EntitySchema } from '@mikro-orm/core';
import type { AgentId, AgentStatus } from '../../domain/agents';

/** One of the four agents with its progression and custody statistics (ARCHITECTURE §1). Rows are seeded by a migration. */
export class Agent {
  id: AgentId;
  name: string;
  role: string;
  description: string;
  status: AgentStatus = 'active';
  statusReason: string | null = null;
  statusChangedAt: Date | null = null;
  level = 1;
  xp = 0;
  examsTaken = 0;
  examsPassed = 0;
  examsFailed = 0;
  consecutivePasses = 0;
  consecutiveFailures = 0;
  lastExamAt: Date | null = null;
  lastPassedAt: Date | null = null;
  levelHoldReason: string | null = null;
  /** LLM profile override; null means the configured default for the agent. */
  llmProvider: string | null = null;
  llmModel: string | null = null;
  createdAt: Date = new Date();
  updatedAt: Date = new Date();

  constructor(init: { id: AgentId; name: string; role: string; description: string }) {
    this.id = init.id;
    this.name = init.name;
    this.role = init.role;
    this.description = init.description;
  }
}

const timestamp = { type: 'Date', columnType: 'timestamptz' } as const;
const nullableTimestamp = { ...timestamp, nullable: true } as const;

export const AgentSchema = new EntitySchema<Agent>({
  class: Agent,
  tableName: 'agents',
  properties: {
    id: { type: 'string', length: 32, primary: true },
    name: { type: 'string', length: 64 },
    role: { type: 'string', length: 64 },
    description: { type: 'text' },
    status: { type: 'string', length: 16 },
    statusReason: { type: 'text', nullable: true },
    statusChangedAt: nullableTimestamp,
    level: { type: 'integer' },
    xp: { type: 'integer' },
    examsTaken: { type: 'integer' },
    examsPassed: { type: 'integer' },
    examsFailed: { type: 'integer' },
    consecutivePasses: { type: 'integer' },
    consecutiveFailures: { type: 'integer' },
    lastExamAt: nullableTimestamp,
    lastPassedAt: nullableTimestamp,
    levelHoldReason: { type: 'text', nullable: true },
    llmProvider: { type: 'string', length: 32, nullable: true },
    llmModel: { type: 'string', length: 128, nullable: true },
    createdAt: timestamp,
    updatedAt: { ...timestamp, onUpdate: () => new Date() },
  },
});
