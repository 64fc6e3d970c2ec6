import Router, { type RouterContext } from '@koa/router';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { Agent, AgentSkillRating } from '../../../db/entities';
import type { AgentStatus } from '../../../domain/agents';
import { notFound } from '../../errors';
import { requireRole } from '../../middleware/auth';
import { doc } from '../../openapi/doc';
import { page } from '../../pagination';
import type { AppState } from '../../types';
import { parse } from '../../validate';
import { presentAgent } from './presenter';
import { agentIdParams, changeStatusBody, listAgentsQuery } from './schema';

/** `/agents`: list and read agents (viewer); pause and resume their scheduled work (operator). */
export function agentsRouter({ orm }: { orm: MikroORM }): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/agents' });

  router.get('/', doc({ summary: 'List agents with level, rank and skill ratings', role: 'viewer', query: listAgentsQuery, responses: { 200: { description: 'a page of agents' } } }), requireRole('viewer'), async (ctx) => {
    const query = parse(listAgentsQuery, ctx.query);
    const em = orm.em as EntityManager;
    const where = query.status ? { status: query.status } : {};
    const [agents, total] = await em.findAndCount(Agent, where, {
      orderBy: { createdAt: 'asc', id: 'asc' },
      limit: query.limit,
      offset: query.offset,
    });
    const ratings = await em.find(AgentSkillRating, { agentId: { $in: agents.map((a) => a.id) } });
    ctx.body = page(
      agents.map((a) => presentAgent(a, ratings.filter((r) => r.agentId === a.id))),
      total,
      query,
    );
  });

  router.get('/:id', doc({ summary: 'Read one agent', role: 'viewer', params: agentIdParams, responses: { 200: { description: 'the agent' } } }), requireRole('viewer'), async (ctx) => {
    const { id } = parse(agentIdParams, ctx.params);
    const agent = await loadAgent(orm.em as EntityManager, id);
    ctx.body = presentAgent(agent, await orm.em.find(AgentSkillRating, { agentId: agent.id }));
  });

  const changeStatus = (status: AgentStatus) =>
    async function (ctx: RouterContext<AppState>) {
      const { id } = parse(agentIdParams, ctx.params);
      const { reason } = parse(changeStatusBody, ctx.request.body);
      const em = orm.em as EntityManager;
      const agent = await loadAgent(em, id);
      ctx.state.auditTarget = `agent:${agent.id}`;
      if (agent.status !== status) {
        agent.status = status;
        agent.statusReason = reason ?? `${status === 'paused' ? 'paused' : 'resumed'} by ${ctx.state.auth?.name ?? 'unknown'}`;
        agent.statusChangedAt = new Date();
        await em.flush();
      }
      ctx.body = presentAgent(agent, await em.find(AgentSkillRating, { agentId: agent.id }));
    };

  const changeStatusDoc = (summary: string) => doc({ summary, role: 'operator', params: agentIdParams, body: changeStatusBody, responses: { 200: { description: 'the agent' } } });
  router.post('/:id/pause', changeStatusDoc("Pause an agent's scheduled work (idempotent)"), requireRole('operator'), changeStatus('paused'));
  router.post('/:id/resume', changeStatusDoc("Resume an agent's scheduled work (idempotent)"), requireRole('operator'), changeStatus('active'));
  return router;
}

async function loadAgent(em: EntityManager, id: string): Promise<Agent> {
  const agent = await em.findOne(Agent, { id: id as Agent['id'] });
  if (agent === null) throw notFound(`agent "${id}"`);
  return agent;
}
