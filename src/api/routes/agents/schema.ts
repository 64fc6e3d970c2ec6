import { z } from 'zod';
import { AGENT_STATUSES } from '../../../domain/agents';
import { LLM_PROVIDERS } from '../../../domain/llm';
import { paginationQuery } from '../../pagination';
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
