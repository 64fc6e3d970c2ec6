import { EntitySchema } from '@mikro-orm/core';

/** One change of an agent's category rating: the history behind `GET /api/enhanced-learning/skills/:agentId`. */
export class SkillRatingEvent {
  id?: string;
  agentId: string;
  category: string;
  examId: string;
  score: number;
  ratingBefore: number;
  ratingAfter: number;
  at: Date = new Date();

  constructor(init: Omit<SkillRatingEvent, 'id' | 'at'>) {
    this.agentId = init.agentId;
    this.category = init.category;
    this.examId = init.examId;
    this.score = init.score;
    this.ratingBefore = init.ratingBefore;
    this.ratingAfter = init.ratingAfter;
  }
}

export const SkillRatingEventSchema = new EntitySchema<SkillRatingEvent>({
  class: SkillRatingEvent,
  tableName: 'skill_rating_events',
  indexes: [{ properties: ['agentId', 'category', 'at'] }],
  uniques: [{ properties: ['examId'] }],
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    agentId: { type: 'string', length: 32 },
    category: { type: 'string', length: 64 },
    examId: { type: 'uuid' },
    score: { type: 'double' },
    ratingBefore: { type: 'double' },
    ratingAfter: { type: 'double' },
    at: { type: 'Date', columnType: 'timestamptz' },
  },
});
