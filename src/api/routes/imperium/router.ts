import Router from '@koa/router';
import type { z } from 'zod';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { Config } from '../../../config';
import { LEARNING_CYCLE_WORKFLOW, learningCycleWorkflowId } from '../../../contracts';
import { requireRole } from '../../middleware/auth';
import { doc } from '../../openapi/doc';
import type { AppState } from '../../types';
import { parse } from '../../validate';
import { getAgentRun, listAgentRuns, startAgentRun } from '../runs';
import {
  listRunsQuery,
  runIdParams,
  runPageResponse,
  runResponse,
  startedRunResponse,
  startRunConflict,
} from '../runs.schema';
import { knowledgePageResponse, knowledgeQuery } from './schema';

interface NoteRow {
  id: string;
  agent_id: string;
  category: string | null;
  title: string;
  body: string;
  sources: Array<{ kind: string; ref: string }>;
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
    doc({
      summary: 'Start a learning cycle',
      role: 'operator',
      responses: {
        202: {
          description:
            'started: the run id (the run is recorded from now on), the workflow id, its status URL and the cycle URL',
          schema: startedRunResponse,
        },
      },
      errors: { 409: startRunConflict },
    }),
    requireRole('operator'),
    startAgentRun(deps, {
      agentId: 'imperium',
      kind: 'learning_cycle',
      workflowType: LEARNING_CYCLE_WORKFLOW,
      workflowId: () => learningCycleWorkflowId(new Date()),
      links: (workflowId) => ({ cycleUrl: `/api/imperium/cycles/${workflowId}` }),
    }),
  );
  router.get(
    '/cycles',
    doc({
      summary: 'List learning cycles, newest first',
      role: 'viewer',
      query: listRunsQuery,
      responses: { 200: { description: 'a page of cycles', schema: runPageResponse } },
    }),
    requireRole('viewer'),
    listAgentRuns(orm, 'learning_cycle'),
  );
  router.get(
    '/cycles/:id',
    doc({
      summary: "Read one learning cycle (by id or workflow id) with every step's outcome, timing and cost",
      role: 'viewer',
      params: runIdParams,
      responses: { 200: { description: 'the cycle', schema: runResponse } },
    }),
    requireRole('viewer'),
    getAgentRun(orm, 'learning_cycle', 'learning cycle'),
  );

  router.get(
    '/knowledge',
    doc({
      summary: "The agents' knowledge notes, full-text searchable",
      role: 'viewer',
      query: knowledgeQuery,
      responses: { 200: { description: 'a page of notes, best match first', schema: knowledgePageResponse } },
    }),
    requireRole('viewer'),
    async (ctx) => {
      const q = parse(knowledgeQuery, ctx.query);
      const document = `to_tsvector('english', title || ' ' || body)`;
      const filters = [
        ...(q.agent ? ['agent_id = ?'] : []),
        ...(q.q ? [`${document} @@ websearch_to_tsquery('english', ?)`] : []),
      ];
      const params: unknown[] = [...(q.agent ? [q.agent] : []), ...(q.q ? [q.q] : [])];
      const rows = (await (orm.em as EntityManager).getConnection().execute(
        `select id, agent_id, category, title, body, sources, created_at,
              ${q.q ? `ts_rank(${document}, websearch_to_tsquery('english', ?))` : 'null'} as rank, count(*) over () as total
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
      } satisfies z.infer<typeof knowledgePageResponse>;
    },
  );

  return router;
}
