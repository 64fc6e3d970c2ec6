import Router from '@koa/router';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { Config } from '../../../config';
import { LEARNING_CYCLE_WORKFLOW, learningCycleWorkflowId } from '../../../contracts';
import { AGENT_IDS } from '../../../domain/agents';
import { requireRole } from '../../middleware/auth';
import { paginationQuery } from '../../pagination';
import type { AppState } from '../../types';
import { parse } from '../../validate';
import { getAgentRun, listAgentRuns, startAgentRun } from '../runs';

const knowledgeQuery = paginationQuery.extend({
  agent: z.enum(AGENT_IDS).optional(),
  q: z.string().trim().min(1).max(200).optional(),
});

interface NoteRow {
  id: string;
  agent_id: string;
  category: string | null;
  title: string;
  body: string;
  sources: unknown;
  created_at: string | Date;
  rank: number | null;
  total: number;
}

/**
 * `/imperium`: start a learning cycle (operator), list and read cycles with every step's outcome, timing and cost
 * (viewer), and the agents' knowledge notes, searchable with PostgreSQL full-text search (viewer).
 */
export function imperiumRouter(deps: { orm: MikroORM; temporal: Client; config: Config }): Router<AppState> {
  const { orm } = deps;
  const router = new Router<AppState>({ prefix: '/imperium' });

  router.post(
    '/cycles',
    requireRole('operator'),
    startAgentRun(deps, {
      agentId: 'imperium',
      workflowType: LEARNING_CYCLE_WORKFLOW,
      workflowId: () => learningCycleWorkflowId(new Date()),
      links: (workflowId) => ({ cycleUrl: `/api/imperium/cycles/${workflowId}` }),
    }),
  );
  router.get('/cycles', requireRole('viewer'), listAgentRuns(orm, 'learning_cycle'));
  router.get('/cycles/:id', requireRole('viewer'), getAgentRun(orm, 'learning_cycle', 'learning cycle'));

  router.get('/knowledge', requireRole('viewer'), async (ctx) => {
    const q = parse(knowledgeQuery, ctx.query);
    const doc = `to_tsvector('english', title || ' ' || body)`;
    const filters = [...(q.agent ? ['agent_id = ?'] : []), ...(q.q ? [`${doc} @@ websearch_to_tsquery('english', ?)`] : [])];
    const params: unknown[] = [...(q.agent ? [q.agent] : []), ...(q.q ? [q.q] : [])];
    const rows = (await (orm.em as EntityManager).getConnection().execute(
      `select id, agent_id, category, title, body, sources, created_at,
              ${q.q ? `ts_rank(${doc}, websearch_to_tsquery('english', ?))` : 'null'} as rank, count(*) over () as total
         from knowledge_notes ${filters.length > 0 ? `where ${filters.join(' and ')}` : ''}
        order by rank desc nulls last, created_at desc, id limit ? offset ?`,
      [...(q.q ? [q.q] : []), ...params, q.limit, q.offset],
    )) as NoteRow[];
    ctx.body = {
      items: rows.map((r) => ({
        id: r.id,
        agentId: r.agent_id,
        category: r.category,
        title: r.title,
        body: r.body,
        sources: r.sources,
        createdAt: new Date(r.created_at).toISOString(),
        rank: r.rank === null ? null : Math.round(Number(r.rank) * 1000) / 1000,
      })),
      page: { limit: q.limit, offset: q.offset, total: Number(rows[0]?.total ?? 0) },
    };
  });

  return router;
}
