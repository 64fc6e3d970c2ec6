import Router, { type RouterContext } from '@koa/router';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../../../config';
import { Agent, AgentSkillRating } from '../../../db/entities';
import { AGENT_TABLES, type TableCache } from '../../../db/table-cache';
import { answerCached } from '../../cached';
import type { AgentStatus } from '../../../domain/agents';
import type { LlmProvider } from '../../../domain/llm';
import { badRequest, notFound } from '../../errors';
import { requireRole } from '../../middleware/auth';
import { doc } from '../../openapi/doc';
import { page } from '../../pagination';
import { fromRow, readPage, readRows } from '../../../db/read';
import type { AppState } from '../../types';
import { parse } from '../../validate';
import { presentAgent, type AgentRatingView } from './presenter';
import {
  agentIdParams,
  agentPageResponse,
  agentResponse,
  changeStatusBody,
  listAgentsQuery,
  setModelBody,
} from './schema';

/** An agent's skill ratings (alias `t` for the agent) as a json array of `AgentRatingView`, ordered by category. */
const RATINGS_JSON = `coalesce((select json_agg(json_build_object('category', r.category, 'rating', r.rating, 'examsCount', r.exams_count) order by r.category)
  from agent_skill_ratings r where r.agent_id = t.id), '[]'::json)`;

/** `/agents`: list and read agents (viewer); pause and resume their scheduled work (operator); set their own model (admin). */
export function agentsRouter({
  orm,
  config,
  agentsCache,
}: {
  orm: MikroORM;
  config: Config;
  agentsCache?: TableCache;
}): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/agents' });

  router.get(
    '/',
    doc({
      summary: 'List agents with level, rank and skill ratings',
      role: 'viewer',
      query: listAgentsQuery,
      responses: { 200: { description: 'a page of agents', schema: agentPageResponse } },
    }),
    requireRole('viewer'),
    async (ctx) => {
      const query = parse(listAgentsQuery, ctx.query);
      const load = async () => {
        // One round trip: the page, its total and each agent's ratings (json_agg) in one statement (issue 17).
        const { rows, total } = await readPage(orm, Agent, {
          where: query.status ? 't.status = ?' : 'true',
          params: query.status ? [query.status] : [],
          orderBy: 't.created_at asc, t.id asc',
          limit: query.limit,
          offset: query.offset,
          extra: `, ${RATINGS_JSON} as __ratings`,
        });
        return page(
          rows.map(({ item, row }) => presentAgent(item, row.__ratings as AgentRatingView[])),
          total,
          query,
        );
      };
      // The answer depends on two tables only: kept in memory until PostgreSQL notifies a change to either.
      await answerCached(
        ctx,
        agentsCache,
        `agents:${query.status ?? ''}:${query.limit}:${query.offset}`,
        AGENT_TABLES,
        load,
      );
    },
  );

  router.get(
    '/:id',
    doc({
      summary: 'Read one agent',
      role: 'viewer',
      params: agentIdParams,
      responses: { 200: { description: 'the agent', schema: agentResponse } },
    }),
    requireRole('viewer'),
    async (ctx) => {
      const { id } = parse(agentIdParams, ctx.params);
      await answerCached(ctx, agentsCache, `agent:${id}`, AGENT_TABLES, async () => {
        const [row] = await readRows(orm, `select t.*, ${RATINGS_JSON} as __ratings from agents t where t.id = ?`, [
          id,
        ]);
        if (row === undefined) throw notFound(`agent "${id}"`);
        return presentAgent(fromRow(orm, Agent, row), row.__ratings as AgentRatingView[]);
      });
    },
  );

  const changeStatus = (status: AgentStatus) =>
    async function (ctx: RouterContext<AppState>) {
      const { id } = parse(agentIdParams, ctx.params);
      const { reason } = parse(changeStatusBody, ctx.request.body);
      const em = orm.em as EntityManager;
      const agent = await loadAgent(em, id);
      ctx.state.auditTarget = `agent:${agent.id}`;
      if (agent.status !== status) {
        agent.status = status;
        agent.statusReason =
          reason ?? `${status === 'paused' ? 'paused' : 'resumed'} by ${ctx.state.auth?.name ?? 'unknown'}`;
        agent.statusChangedAt = new Date();
        await em.flush();
        agentsCache?.invalidate('agents'); // this process's next read sees it without waiting for the notification
      }
      ctx.body = presentAgent(agent, await em.find(AgentSkillRating, { agentId: agent.id }));
    };

  const changeStatusDoc = (summary: string) =>
    doc({
      summary,
      role: 'operator',
      params: agentIdParams,
      body: changeStatusBody,
      responses: { 200: { description: 'the agent', schema: agentResponse } },
    });
  router.post(
    '/:id/pause',
    changeStatusDoc("Pause an agent's scheduled work (idempotent)"),
    requireRole('operator'),
    changeStatus('paused'),
  );
  router.post(
    '/:id/resume',
    changeStatusDoc("Resume an agent's scheduled work (idempotent)"),
    requireRole('operator'),
    changeStatus('active'),
  );

  const modelDoc = (summary: string, body?: typeof setModelBody) =>
    doc({
      summary,
      role: 'admin',
      params: agentIdParams,
      ...(body && { body }),
      responses: { 200: { description: 'the agent', schema: agentResponse } },
    });
  const setModel = (read: (ctx: RouterContext<AppState>) => { provider: LlmProvider; model: string } | null) =>
    async function (ctx: RouterContext<AppState>) {
      const { id } = parse(agentIdParams, ctx.params);
      const chosen = read(ctx);
      if (chosen !== null && config.llm[chosen.provider] === undefined) {
        throw badRequest(`the ${chosen.provider} provider is not configured on this server`);
      }
      const em = orm.em as EntityManager;
      const agent = await loadAgent(em, id);
      ctx.state.auditTarget = `agent:${agent.id}:model=${chosen === null ? 'cleared' : `${chosen.provider}:${chosen.model}`}`;
      Object.assign(agent, { llmProvider: chosen?.provider ?? null, llmModel: chosen?.model ?? null });
      await em.flush();
      agentsCache?.invalidate('agents');
      ctx.body = presentAgent(agent, await em.find(AgentSkillRating, { agentId: agent.id }));
    };
  router.put(
    '/:id/model',
    modelDoc(
      "Set the agent's own model for its LLM calls (study, triage, experiments, explanations, drafts, exam answers)",
      setModelBody,
    ),
    requireRole('admin'),
    setModel((ctx) => parse(setModelBody, ctx.request.body)),
  );
  router.delete(
    '/:id/model',
    modelDoc("Clear the agent's own model: back to LLM_PROFILE_<AGENT>, else the primary profile"),
    requireRole('admin'),
    setModel(() => null),
  );
  return router;
}

async function loadAgent(em: EntityManager, id: string): Promise<Agent> {
  const agent = await em.findOne(Agent, { id: id as Agent['id'] });
  if (agent === null) throw notFound(`agent "${id}"`);
  return agent;
}
