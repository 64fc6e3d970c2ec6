import { z } from 'zod';
import { AGENT_IDS } from '../../../domain/agents';
import { paginationQuery } from '../../pagination';
import { text } from '../../text';

export const knowledgeQuery = paginationQuery.extend({
  agent: z.enum(AGENT_IDS).optional(),
  q: text(200).optional(),
});
