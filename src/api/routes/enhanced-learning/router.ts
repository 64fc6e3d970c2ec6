import Router from '@koa/router';
import type { z } from 'zod';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { AgentSkillRating, SkillRatingEvent } from '../../../db/entities';
import { AGENT_CATEGORIES } from '../../../domain/agents';
import type { Config } from '../../../config';
import { detectRegression, regressionWindow, roundRating } from '../../../domain/ratings';
import { requireRole } from '../../middleware/auth';
import { doc } from '../../openapi/doc';
import type { AppState } from '../../types';
import { parse } from '../../validate';
import { agentParams, regressionsResponse, skillsResponse } from './schema';

/** `/enhanced-learning`: category ratings with their history, and live skill regressions (viewer). */
export function enhancedLearningRouter({ orm, config }: { orm: MikroORM; config: Config }): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/enhanced-learning' });
  const em = () => orm.em as EntityManager;

  router.get(
    '/skills/:agentId',
    doc({
      summary: "An agent's category ratings with their history",
      role: 'viewer',
      params: agentParams,
      responses: { 200: { description: 'the ratings', schema: skillsResponse } },
    }),
    requireRole('viewer'),
    async (ctx) => {
      const { agentId } = parse(agentParams, ctx.params);
      const ratings = await em().find(AgentSkillRating, { agentId });
      const history = await em().find(SkillRatingEvent, { agentId }, { orderBy: { at: 'asc', id: 'asc' } });
      ctx.body = {
        agentId,
        skills: AGENT_CATEGORIES[agentId].map((category) => {
          const rating = ratings.find((r) => r.category === category);
          return {
            category,
            rating: rating === undefined ? null : roundRating(rating.rating),
            exams: rating?.examsCount ?? 0,
            history: history
              .filter((h) => h.category === category)
              .map((h) => ({
                examId: h.examId,
                at: h.at.toISOString(),
                score: h.score,
                ratingBefore: h.ratingBefore,
                ratingAfter: h.ratingAfter,
              })),
          };
        }),
      } satisfies z.infer<typeof skillsResponse>;
    },
  );

  router.get(
    '/regressions',
    doc({
      summary: 'Live skill regressions per agent and category',
      role: 'viewer',
      responses: { 200: { description: 'the regressions', schema: regressionsResponse } },
    }),
    requireRole('viewer'),
    async (ctx) => {
      // The last 15 graded exams (by default) per agent and category, oldest first: the window §3.1 step 8 compares.
      const rows = (await em()
        .getConnection()
        .execute(
          `select agent_id, category, array_agg(score::float order by completed_at) as scores from (
         select agent_id, category, score, completed_at,
                row_number() over (partition by agent_id, category order by completed_at desc) as n
           from exams where status in ('passed', 'failed')) t
        where n <= ? group by agent_id, category`,
          [regressionWindow(config.rules)],
        )) as Array<{ agent_id: string; category: string; scores: number[] }>;
      const items = rows.flatMap((r) => {
        const regression = detectRegression(r.scores, config.rules);
        return regression === null ? [] : [{ agentId: r.agent_id, category: r.category, ...regression }];
      });
      ctx.body = { items } satisfies z.infer<typeof regressionsResponse>;
    },
  );

  return router;
}
