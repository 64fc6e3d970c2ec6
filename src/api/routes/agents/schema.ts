import { z } from 'zod';
import { AGENT_IDS, AGENT_STATUSES } from '../../../domain/agents';
import { LLM_PROVIDERS } from '../../../domain/llm';
import { paginationQuery } from '../../pagination';
import { nullableTimestamp, pageOf, timestamp } from '../../responses';
import { text } from '../../text';

export const agentIdParams = z.object({
  id: text(32, { trim: false }).regex(/^[a-z][a-z0-9_-]{0,31}$/, 'must be an agent id such as "guardian"'),
});

export const listAgentsQuery = paginationQuery.extend({
  status: z.enum(AGENT_STATUSES).optional(),
});

export const changeStatusBody = z
  .object({ reason: text(500).optional() })
  .strict()
  .default({});

/** An agent's own model: a provider (which must be configured) and its model name, e.g. `llama3.1:8b`. */
export const setModelBody = z
  .object({
    provider: z.enum(LLM_PROVIDERS),
    model: text(128).regex(/^[^\s]+$/, 'must be a model name without spaces'),
  })
  .strict();

/** An agent as the API shows it (`presentAgent`). */
export const agentResponse = z
  .object({
    id: z.enum(AGENT_IDS),
    name: z.string(),
    role: z.string(),
    description: z.string(),
    status: z.enum(AGENT_STATUSES),
    statusReason: z.string().nullable(),
    statusChangedAt: nullableTimestamp,
    level: z.number().int(),
    rank: z.string(),
    xp: z.number().int(),
    xpForNextLevel: z.number().int(),
    levelAllowedByXp: z
      .number()
      .int()
      .describe('the level the XP alone would allow; above `level` while a level-up is held'),
    levelHoldReason: z.string().nullable(),
    custody: z.object({
      examsTaken: z.number().int(),
      examsPassed: z.number().int(),
      examsFailed: z.number().int(),
      consecutivePasses: z.number().int(),
      consecutiveFailures: z.number().int(),
      lastExamAt: nullableTimestamp,
      lastPassedAt: nullableTimestamp,
    }),
    skillRatings: z
      .record(z.string(), z.object({ rating: z.number(), exams: z.number().int() }))
      .describe('by exam category'),
    llmProfile: z
      .object({ provider: z.string().nullable(), model: z.string().nullable() })
      .describe("the agent's own model; nulls: the configured default"),
    updatedAt: timestamp,
  })
  .meta({ id: 'Agent' });

export const agentPageResponse = pageOf(agentResponse);
