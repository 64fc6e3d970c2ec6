import { z } from 'zod';
import { AGENT_IDS } from '../../../domain/agents';
import { isBudgetScope, LLM_PROVIDERS } from '../../../domain/llm';
import { LLM_OUTCOMES } from '../../../db/entities';
import { paginationQuery } from '../../pagination';
import { text } from '../../text';

const month = text(7, { trim: false }).regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month as YYYY-MM');

export const summaryQuery = z.object({ month: month.optional() });

export const eventsQuery = paginationQuery.extend({
  month: month.optional(),
  agentId: z.enum(AGENT_IDS).optional(),
  provider: z.enum(LLM_PROVIDERS).optional(),
  model: text(200, { trim: false }).optional(),
  purpose: text(100, { trim: false }).optional(),
  outcome: z.enum(LLM_OUTCOMES).optional(),
  workflowId: text(255, { trim: false }).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});

export const scopeParams = z.object({
  scope: text(200, { trim: false }).refine(isBudgetScope, 'must be "global", "agent:<agent id>" or "provider:<openai|anthropic>"'),
});

export const putBudgetBody = z
  .object({
    monthlyTokens: z.number().int().min(0).max(1e15).nullable(),
    monthlyUsd: z.number().min(0).max(1e8).nullable(),
  })
  .strict();
