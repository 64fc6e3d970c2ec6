import Router from '@koa/router';
import type { z } from 'zod';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../../../config';
import { evaluateKpi } from '../../../domain/kpis';
import type { Metrics } from '../../../metrics';
import { requireRole } from '../../middleware/auth';
import { doc } from '../../openapi/doc';
import type { AppState } from '../../types';
import {
  apiResponseTimeP95,
  backgroundTaskSuccess,
  cacheHitRate,
  dbQueryTime,
  errorRate,
  examPassRate,
  judgeAgreementKpi,
  proposalApprovalRate,
} from './measure';
import { presentKpi, presentSummary } from './presenter';
import { kpisResponse } from './schema';

/** `/kpis`: every KPI of ARCHITECTURE §8 measured live against its target (viewer). */
export function kpisRouter({
  orm,
  metrics,
  config,
}: {
  orm: MikroORM;
  metrics: Metrics;
  config: Config;
}): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/kpis' });

  router.get(
    '/',
    doc({
      summary: 'The KPIs (ARCHITECTURE §8) measured now against their targets; `met: null` where there is no data yet',
      role: 'viewer',
      responses: {
        200: {
          description:
            'every KPI with its value, target and whether it is met, and how many are met, missed or without data',
          schema: kpisResponse,
        },
      },
    }),
    requireRole('viewer'),
    async (ctx) => {
      const em = orm.em as EntityManager;
      const kpis = [
        evaluateKpi('api_response_time_p95', await apiResponseTimeP95(metrics)),
        evaluateKpi('error_rate', await errorRate(metrics)),
        evaluateKpi('db_query_time', await dbQueryTime(metrics)),
        evaluateKpi('cache_hit_rate', await cacheHitRate(em)),
        evaluateKpi('background_task_success', await backgroundTaskSuccess(em)),
        evaluateKpi('exam_pass_rate', await examPassRate(em)),
        evaluateKpi('proposal_approval_rate', await proposalApprovalRate(em)),
        evaluateKpi('judge_agreement', await judgeAgreementKpi(em, config.judges), config.judges.minAlpha),
      ];
      ctx.body = {
        measuredAt: new Date().toISOString(),
        summary: presentSummary(kpis),
        items: kpis.map(presentKpi),
      } satisfies z.infer<typeof kpisResponse>;
    },
  );

  return router;
}
