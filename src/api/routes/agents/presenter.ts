import type { z } from 'zod';
import type { Agent, AgentSkillRating } from '../../../db/entities';
import { levelForXp, rankForLevel, xpForLevel } from '../../../domain/levels';
import { roundRating } from '../../../domain/ratings';
import type { agentResponse } from './schema';

/** What the presenter reads of a skill rating (an entity, or a row of the read query's json_agg). */
export type AgentRatingView = Pick<AgentSkillRating, 'category' | 'rating' | 'examsCount'>;

/** The public shape of an agent: progression, custody statistics, skill ratings, LLM profile override. */
export function presentAgent(agent: Agent, ratings: AgentRatingView[]): z.infer<typeof agentResponse> {
  return {
    id: agent.id,
    name: agent.name,
    role: agent.role,
    description: agent.description,
    status: agent.status,
    statusReason: agent.statusReason,
    statusChangedAt: agent.statusChangedAt?.toISOString() ?? null,
    level: agent.level,
    rank: rankForLevel(agent.level),
    xp: agent.xp,
    xpForNextLevel: xpForLevel(agent.level + 1),
    levelAllowedByXp: levelForXp(agent.xp),
    levelHoldReason: agent.levelHoldReason,
    custody: {
      examsTaken: agent.examsTaken,
      examsPassed: agent.examsPassed,
      examsFailed: agent.examsFailed,
      consecutivePasses: agent.consecutivePasses,
      consecutiveFailures: agent.consecutiveFailures,
      lastExamAt: agent.lastExamAt?.toISOString() ?? null,
      lastPassedAt: agent.lastPassedAt?.toISOString() ?? null,
    },
    skillRatings: Object.fromEntries(
      ratings.map((r) => [r.category, { rating: roundRating(r.rating), exams: r.examsCount }]),
    ),
    llmProfile: { provider: agent.llmProvider, model: agent.llmModel },
    updatedAt: agent.updatedAt.toISOString(),
  };
}
