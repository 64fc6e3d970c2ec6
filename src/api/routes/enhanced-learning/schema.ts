import { z } from 'zod';
import { AGENT_IDS } from '../../../domain/agents';
import { timestamp } from '../../responses';

export const agentParams = z.object({ agentId: z.enum(AGENT_IDS) });

export const skillsResponse = z.object({
  agentId: z.enum(AGENT_IDS),
  skills: z.array(
    z.object({
      category: z.string(),
      rating: z.number().nullable().describe('null before its first graded exam'),
      exams: z.number().int(),
      history: z
        .array(
          z.object({
            examId: z.string(),
            at: timestamp,
            score: z.number(),
            ratingBefore: z.number(),
            ratingAfter: z.number(),
          }),
        )
        .describe('oldest first'),
    }),
  ),
});

export const regressionsResponse = z.object({
  items: z.array(
    z.object({
      agentId: z.string(),
      category: z.string(),
      recentMean: z.number(),
      previousMean: z.number(),
      drop: z.number(),
    }),
  ),
});
