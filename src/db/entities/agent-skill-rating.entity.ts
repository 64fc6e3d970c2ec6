import { EntitySchema } from '@mikro-orm/core';
import type { AgentId, ExamCategory } from '../../domain/agents';

/** An agent's Elo-style rating in one exam category (ARCHITECTURE §3.1 step 8); seeded at 1200 per category. */
export class AgentSkillRating {
  agentId: AgentId;
  category: ExamCategory;
  rating: number;
  examsCount = 0;
  updatedAt: Date = new Date();

  constructor(init: { agentId: AgentId; category: ExamCategory; rating: number }) {
    this.agentId = init.agentId;
    this.category = init.category;
    this.rating = init.rating;
  }
}

export const AgentSkillRatingSchema = new EntitySchema<AgentSkillRating>({
  class: AgentSkillRating,
  tableName: 'agent_skill_ratings',
  properties: {
    agentId: { type: 'string', length: 32, primary: true },
    category: { type: 'string', length: 64, primary: true },
    rating: { type: 'double' },
    examsCount: { type: 'integer' },
    updatedAt: { type: 'Date', columnType: 'timestamptz', onUpdate: () => new Date() },
  },
});
