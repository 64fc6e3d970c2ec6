import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { cyclePlanSchema, type CyclePlan, type CycleTopic } from '../../src/contracts';
import { Agent, AgentRun, AgentSkillRating } from '../../src/db/entities';
import {
  AGENT_CATEGORIES,
  INITIAL_SKILL_RATING,
  FALLBACK_TOPICS,
  MAX_TOPICS,
  weakestCategories,
  type AgentId,
  type CategoryStanding,
  type Rules,
} from '../../src/domain';
import { untrusted, withUntrustedRule, type LlmGateway } from '../../src/llm';
import { askAgentModel } from '../llm.activities';
import { storeRunSummary } from '../runs.activities';

interface AgentPicture {
  agentId: AgentId;
  status: 'active' | 'paused';
  level: number;
  standings: CategoryStanding[];
  weakest: string[];
  openFindings: Array<{ id: string; kind: string; severity: string; title: string }>;
  openFindingCount: number;
  /** reviewers' comments on its latest rejected proposals */
  rejections: Array<{ title: string | null; comment: string }>;
}

/** What the plan starts from: each agent's standing per category (rating, recent pass rate) and its open findings. */
async function gatherPictures(em: EntityManager, rules: Rules): Promise<AgentPicture[]> {
  const agents = await em.find(Agent, {}, { orderBy: { id: 'asc' } });
  const ratings = await em.find(AgentSkillRating, {});
  const rates = (await em.getConnection().execute(
    `select agent_id, category, count(*)::int as exams, avg(case when status = 'passed' then 1 else 0 end)::float as pass_rate
       from (select agent_id, category, status, row_number() over (partition by agent_id, category order by completed_at desc) as n
               from exams where status in ('passed', 'failed')) recent
      where n <= ? group by agent_id, category`,
    [rules.categoryRateWindow],
  )) as Array<{ agent_id: string; category: string; exams: number; pass_rate: number }>;
  const findings = (await em.getConnection().execute(
    `select id, agent_id, kind, severity, title, count(*) over (partition by agent_id)::int as total
       from (select *, row_number() over (partition by agent_id order by case severity when 'critical' then 0 when 'high' then 1 when 'medium' then 2 else 3 end, first_seen_at) as n
               from findings where status = 'open') f
      where n <= 5`,
  )) as Array<{ id: string; agent_id: string; kind: string; severity: string; title: string; total: number }>;
  const rejections = (await em.getConnection().execute(
    `select agent_id, title, review->>'comment' as comment
       from (select *, row_number() over (partition by agent_id order by completed_at desc) as n
               from proposals where status = 'rejected' and review->>'comment' is not null) r
      where n <= 3`,
  )) as Array<{ agent_id: string; title: string | null; comment: string }>;

  return agents.map((agent) => {
    const standings: CategoryStanding[] = AGENT_CATEGORIES[agent.id].map((category) => {
      const rate = rates.find((r) => r.agent_id === agent.id && r.category === category);
      return {
        category,
        rating: ratings.find((r) => r.agentId === agent.id && r.category === category)?.rating ?? INITIAL_SKILL_RATING,
        passRate: rate === undefined ? null : Number(rate.pass_rate),
        exams: rate?.exams ?? 0,
      };
    });
    const own = findings.filter((f) => f.agent_id === agent.id);
    return {
      agentId: agent.id,
      status: agent.status,
      level: agent.level,
      standings,
      weakest: weakestCategories(agent.id, standings),
      openFindings: own.map(({ id, kind, severity, title }) => ({ id, kind, severity, title })),
      openFindingCount: own[0]?.total ?? 0,
      rejections: rejections
        .filter((r) => r.agent_id === agent.id)
        .map(({ title, comment }) => ({ title, comment: comment.slice(0, 500) })),
    };
  });
}

function fallbackTopics(p: AgentPicture): CycleTopic[] {
  return p.weakest.slice(0, FALLBACK_TOPICS).map((category) => {
    const s = p.standings.find((x) => x.category === category);
    const rate =
      s?.passRate === null || s === undefined
        ? 'never examined'
        : `pass rate ${Math.round(s.passRate * 100)} % over the last ${s.exams} exams`;
    return {
      title: `Strengthen ${category.replace(/_/g, ' ')}`,
      category,
      why: `one of its weakest categories: rating ${Math.round(s?.rating ?? INITIAL_SKILL_RATING)}, ${rate}`,
    };
  });
}

function planOf(pictures: AgentPicture[], chosen: Map<string, CycleTopic[]> | null, unavailable?: string): CyclePlan {
  return {
    planner: chosen === null ? 'weakest_categories' : 'model',
    ...(unavailable !== undefined && { plannerUnavailable: unavailable }),
    agents: pictures.map((p) => ({
      agentId: p.agentId,
      status: p.status,
      weakest: p.weakest,
      openFindings: p.openFindingCount,
      // A paused agent studies nothing; an agent the model left out falls back to its weakest categories.
      topics: p.status === 'paused' ? [] : (chosen?.get(p.agentId) ?? fallbackTopics(p)),
    })),
  };
}

async function storedPlan(em: EntityManager, runId: string): Promise<CyclePlan | undefined> {
  const run = await em.findOneOrFail(AgentRun, { id: runId });
  return run.summary.plan as CyclePlan | undefined;
}

/**
 * Imperium's model chooses up to 3 study topics per active agent from each one's weakest categories, open findings and
 * reviewers' comments on its latest rejected proposals. Stored on the cycle's run,
 * so a retry asks nothing twice. Gateway failures are thrown as ApplicationFailures: the workflow then plans without
 * a model (`planCycleWithoutModel`).
 */
export async function planCycle(
  deps: { orm: MikroORM; llm: LlmGateway; rules: Rules },
  runId: string,
): Promise<CyclePlan> {
  const em = deps.orm.em.fork() as EntityManager;
  const stored = await storedPlan(em, runId);
  if (stored !== undefined) return stored;
  const pictures = await gatherPictures(em, deps.rules);
  const active = pictures.filter((p) => p.status === 'active');
  const brief = active.map((p) => ({
    agentId: p.agentId,
    level: p.level,
    categories: p.standings.map((s) => ({
      category: s.category,
      rating: Math.round(s.rating),
      passRate: s.passRate,
      exams: s.exams,
    })),
    openFindings: p.openFindings,
    rejectedProposals: p.rejections,
  }));
  const reply = await askAgentModel(deps, {
    agentId: 'imperium',
    purpose: 'cycle.plan',
    schema: cyclePlanSchema,
    schemaName: 'cycle_plan',
    messages: [
      {
        role: 'system',
        content:
          `You are Imperium, coordinator of the agents Guardian (security), Sandbox (experiments), Conquest (performance) and yourself. ` +
          `Plan this learning cycle: for each agent listed choose at most ${MAX_TOPICS} concrete study topics that would most improve its weakest exam categories and help it act on its open findings. ` +
          withUntrustedRule('Use the exam category a topic serves (or null) and say briefly why.'),
      },
      {
        role: 'user',
        content: `Agents (JSON):\n${untrusted("agents' standings, open findings (titles from the repository and its scanners) and reviewers' comments (JSON)", JSON.stringify(brief, null, 1))}`,
      },
    ],
    maxTokens: 2000,
    temperature: 0.2,
  });
  const chosen = new Map<string, CycleTopic[]>();
  for (const a of reply.output.agents) {
    if (active.some((p) => p.agentId === a.agentId) && a.topics.length > 0)
      chosen.set(a.agentId, a.topics.slice(0, MAX_TOPICS));
  }
  const plan = planOf(pictures, chosen);
  await storeRunSummary(deps.orm, runId, { plan });
  return plan;
}

/** The plan without a model: each active agent studies its weakest categories; `reason` says why no model planned. */
export async function planCycleWithoutModel(
  { orm, rules }: { orm: MikroORM; rules: Rules },
  runId: string,
  reason: string,
): Promise<CyclePlan> {
  const em = orm.em.fork() as EntityManager;
  const stored = await storedPlan(em, runId);
  if (stored !== undefined) return stored;
  const plan = planOf(await gatherPictures(em, rules), null, reason.slice(0, 500));
  await storeRunSummary(orm, runId, { plan });
  return plan;
}
