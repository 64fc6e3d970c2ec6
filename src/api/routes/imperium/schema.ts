import { z } from 'zod';
import { AGENT_IDS } from '../../../domain/agents';
import { paginationQuery } from '../../pagination';
import { pageOf, timestamp } from '../../responses';
import { text } from '../../text';

export const knowledgeQuery = paginationQuery.extend({
  agent: z.enum(AGENT_IDS).optional(),
  q: text(200).optional(),
});

/** `GET /imperium/knowledge`: notes, best match first when searching. */
export const knowledgePageResponse = pageOf(
  z.object({
    id: z.uuid(),
    agentId: z.string(),
    category: z.string().nullable(),
    title: z.string(),
    body: z.string(),
    sources: z.array(z.object({ kind: z.string(), ref: z.string() })).describe('what the note was learned from'),
    createdAt: timestamp,
    rank: z.number().nullable().describe('the full-text match rank with `q`; null without'),
  }),
);
