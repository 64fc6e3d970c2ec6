import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { z } from 'zod';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { Config } from '../../../config';
import { CUSTODY_EXAM_WORKFLOW, custodyWorkflowId, type CustodyExamInput } from '../../../contracts';
import { agentEligibility } from '../../../db/eligibility';
import { judgeAgreement } from '../../../db/judge-agreement';
import { activityTimeouts } from '../../../temporal/activity-timeouts';
import { storeExamPlan, type ExamRefusal } from '../../../db/exam-plan';
import { Agent, Exam, ExamItem } from '../../../db/entities';
import { AGENT_TABLES, type TableCache } from '../../../db/table-cache';
import { answerCached } from '../../cached';
import { fromRow, readPage, readRows, sqlFilters } from '../../../db/read';
import { AGENT_CATEGORIES, AGENT_IDS, EXAM_CATEGORIES } from '../../../domain/agents';
import {
  DIFFICULTIES,
  DIFFICULTY_MIN_LEVEL,
  ITEM_COUNT,
  requiresCodeItem,
  TIME_LIMIT_SECONDS,
} from '../../../domain/custody';
import { DIFFICULTY_RATING } from '../../../domain/ratings';
import { badRequest, conflict, notFound, type HttpError } from '../../errors';
import { requireRole } from '../../middleware/auth';
import { doc } from '../../openapi/doc';
import { page } from '../../pagination';
import type { AppState } from '../../types';
import { parse } from '../../validate';
import { presentExam, presentExamSummary, presentJudges, presentLeader, presentRules } from './presenter';
import {
  agentParams,
  categoriesResponse,
  eligibilityResponse,
  examIdParams,
  examPageResponse,
  examResponse,
  judgesResponse,
  leaderboardResponse,
  listExamsQuery,
  rulesResponse,
  startedExamResponse,
  startExamBody,
} from './schema';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `/custody`: start exams (operator), read them, eligibility, leaderboard, categories, rules and judges' agreement (viewer). */
export function custodyRouter({
  orm,
  temporal,
  config,
  agentsCache,
}: {
  orm: MikroORM;
  temporal: Client;
  config: Config;
  /** The leaderboard reads only the agents and their ratings: served from the agents cache when there is one. */
  agentsCache?: TableCache;
}): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/custody' });
  const em = () => orm.em as EntityManager;

  router.post(
    '/tests',
    doc({
      summary: 'Start a custody exam for an agent',
      role: 'operator',
      body: startExamBody,
      responses: {
        202: { description: 'started: the workflow id, its status URL and the exam URL', schema: startedExamResponse },
      },
      errors: { 409: 'the agent is paused, or already has an exam running (`details` names it)' },
    }),
    requireRole('operator'),
    async (ctx) => {
      const body = parse(startExamBody, ctx.request.body);
      const agent = await em().findOneOrFail(Agent, { id: body.agentId });
      if (body.category !== undefined && !AGENT_CATEGORIES[agent.id].includes(body.category)) {
        throw badRequest(`${agent.id} is not examined in ${body.category}`, [
          { field: 'category', message: `must be one of ${AGENT_CATEGORIES[agent.id].join(', ')}` },
        ]);
      }
      if (agent.status === 'paused') throw conflict(`agent ${agent.id} is paused`);
      const workflowId = custodyWorkflowId(agent.id, randomUUID());
      const input: CustodyExamInput = {
        agentId: agent.id,
        category: body.category,
        trigger: 'api',
        requestedBy: ctx.state.auth?.name,
        timeouts: activityTimeouts(config),
      };
      // The exam row is stored before the workflow starts: the unique running-exam index refuses a concurrent duplicate here.
      const exam = await storeExamPlan(
        em().fork(),
        { ...input, examId: randomUUID(), workflowId },
        config.rules,
        config.llm.profiles,
      );
      if ('refused' in exam) throw await examRefusal(em(), agent.id, exam);
      try {
        await temporal.workflow.start(CUSTODY_EXAM_WORKFLOW, {
          taskQueue: config.temporal.taskQueue,
          workflowId,
          args: [input],
          workflowExecutionTimeout: `${config.workflowTimeouts.examSeconds}s`,
        });
      } catch (err) {
        await em()
          .fork()
          .nativeUpdate(
            Exam,
            { id: exam.id },
            {
              status: 'error',
              error: `the exam workflow could not be started: ${(err as Error).message}`,
              completedAt: new Date(),
            },
          );
        throw err;
      }
      ctx.state.auditTarget = `workflow:${workflowId}`;
      ctx.status = 202;
      ctx.body = {
        workflowId,
        agentId: agent.id,
        statusUrl: `/api/workflows/${workflowId}`,
        examUrl: `/api/custody/tests/${workflowId}`,
      } satisfies z.infer<typeof startedExamResponse>;
    },
  );

  router.get(
    '/tests',
    doc({
      summary: 'List exams, newest first',
      role: 'viewer',
      query: listExamsQuery,
      responses: { 200: { description: 'a page of exams', schema: examPageResponse } },
    }),
    requireRole('viewer'),
    async (ctx) => {
      const q = parse(listExamsQuery, ctx.query);
      const filters = sqlFilters([
        ['t.agent_id', q.agentId],
        ['t.status', q.status],
        ['t.category', q.category],
        ['t.olympus', q.olympus],
      ]);
      const { rows, total } = await readPage(orm, Exam, {
        ...filters,
        orderBy: 't.started_at desc, t.id asc',
        limit: q.limit,
        offset: q.offset,
      });
      ctx.body = page(
        rows.map(({ item }) => presentExamSummary(item)),
        total,
        q,
      );
    },
  );

  router.get(
    '/tests/:id',
    doc({
      summary: 'Read one exam (by id or workflow id) with its items and token usage',
      role: 'viewer',
      params: examIdParams,
      responses: {
        200: {
          description: 'the exam, its items (hidden tests once it ended) and its token usage',
          schema: examResponse,
        },
      },
    }),
    requireRole('viewer'),
    async (ctx) => {
      const { id } = parse(examIdParams, ctx.params);
      const exam = await em().findOne(Exam, UUID.test(id) ? { id } : { workflowId: id });
      if (exam === null) throw notFound(`exam "${id}"`);
      const items = await em().find(ExamItem, { examId: exam.id }, { orderBy: { position: 'asc' } });
      const [usage] = (await em()
        .getConnection()
        .execute(
          `select count(*)::int as calls, coalesce(sum(input_tokens), 0)::int as "inputTokens", coalesce(sum(output_tokens), 0)::int as "outputTokens",
              coalesce(sum(cost_usd), 0)::float as "costUsd" from token_usage_events where workflow_id = ?`,
          [exam.workflowId],
        )) as Array<{ calls: number; inputTokens: number; outputTokens: number; costUsd: number }>;
      ctx.body = presentExam(exam, items, usage ?? { calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 });
    },
  );

  router.get(
    '/eligibility/:agentId',
    doc({
      summary: 'Whether an agent may propose changes now, and why',
      role: 'viewer',
      params: agentParams,
      responses: { 200: { description: 'the eligibility decision', schema: eligibilityResponse } },
    }),
    requireRole('viewer'),
    async (ctx) => {
      const { agentId } = parse(agentParams, ctx.params);
      const { openProposals, ...decision } = await agentEligibility(em(), agentId, config.rules);
      ctx.body = { agentId, openProposals, ...decision } satisfies z.infer<typeof eligibilityResponse>;
    },
  );

  router.get(
    '/leaderboard',
    doc({
      summary: 'Agents ranked by level and XP',
      role: 'viewer',
      responses: { 200: { description: 'the leaderboard', schema: leaderboardResponse } },
    }),
    requireRole('viewer'),
    async (ctx) => {
      await answerCached(ctx, agentsCache, 'leaderboard', AGENT_TABLES, async () => {
        // One round trip: the agents with their mean rating (null without ratings).
        const rows = await readRows(
          orm,
          `select t.*, (select avg(r.rating) from agent_skill_ratings r where r.agent_id = t.id) as __avg
      from agents t order by t.level desc, t.xp desc, t.id asc`,
        );
        return {
          items: rows.map((r, i) =>
            presentLeader(fromRow(orm, Agent, r), i + 1, r.__avg === null ? null : Number(r.__avg)),
          ),
        } satisfies z.infer<typeof leaderboardResponse>;
      });
    },
  );

  router.get(
    '/categories',
    doc({
      summary: 'Exam categories and difficulty levels',
      role: 'viewer',
      responses: { 200: { description: 'categories and difficulties', schema: categoriesResponse } },
    }),
    requireRole('viewer'),
    async (ctx) => {
      ctx.body = {
        categories: EXAM_CATEGORIES.map((c) => ({
          id: c,
          agents: AGENT_IDS.filter((a) => AGENT_CATEGORIES[a].includes(c)),
          requiresCodeItem: requiresCodeItem(c),
        })),
        difficulties: DIFFICULTIES.map((d) => ({
          id: d,
          fromLevel: DIFFICULTY_MIN_LEVEL[d],
          timeLimitSeconds: TIME_LIMIT_SECONDS[d],
          items: ITEM_COUNT[d],
          xpMultiplier: config.rules.xpMultipliers[d],
          rating: DIFFICULTY_RATING[d],
        })),
      } satisfies z.infer<typeof categoriesResponse>;
    },
  );

  router.get(
    '/rules',
    doc({
      summary:
        'The effective rules (pass marks, XP, level gate, ratings, regression, eligibility, Conquest thresholds) with the variables that set them',
      role: 'viewer',
      responses: { 200: { description: 'the rules', schema: rulesResponse } },
    }),
    requireRole('viewer'),
    (ctx) => {
      ctx.body = presentRules(config.rules, config.conquest);
    },
  );

  router.get(
    '/judges',
    doc({
      summary:
        "Each judge model's agreement with the other judges (mean absolute difference, Krippendorff's alpha) over the audited items of the window",
      role: 'viewer',
      responses: { 200: { description: 'agreement per judge model', schema: judgesResponse } },
    }),
    requireRole('viewer'),
    async (ctx) => {
      ctx.body = presentJudges(await judgeAgreement(em(), config.judges.windowDays), config.judges);
    },
  );

  return router;
}

/** The HTTP error for a refused exam start; a concurrent duplicate's 409 names the exam that is running. */
async function examRefusal(em: EntityManager, agentId: string, refusal: ExamRefusal): Promise<HttpError> {
  if (refusal.refused === 'InvalidCategory')
    return badRequest(refusal.message, [{ field: 'category', message: refusal.message }]);
  if (refusal.refused === 'AgentNotFound') return notFound(`agent "${agentId}"`);
  const running = await em.fork().findOne(Exam, { agentId: agentId as Exam['agentId'], status: 'running' });
  return conflict(
    `agent ${agentId} already has an exam running`,
    running && { examId: running.id, workflowId: running.workflowId },
  );
}
