import Router from '@koa/router';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { Config } from '../../../config';
import { GUARDIAN_SCAN_WORKFLOW } from '../../../contracts';
import { Finding } from '../../../db/entities';
import { readPage, sqlFilters } from '../../../db/read';
import { conflict, notFound } from '../../errors';
import { requireRole } from '../../middleware/auth';
import { doc } from '../../openapi/doc';
import { page } from '../../pagination';
import type { AppState } from '../../types';
import { parse } from '../../validate';
import { listAgentRuns, startAgentRun } from '../runs';
import { listRunsQuery, runPageResponse, startedRunResponse, startRunConflict } from '../runs.schema';
import { presentFinding } from './presenter';
import { dismissBody, findingPageResponse, findingParams, findingResponse, listFindingsQuery } from './schema';

// Most severe first: `severity_rank` is a stored generated column (0 critical … 3 the rest), indexed with kind and
// last_seen_at in this order (findings_list_order_index), so a page is read in index order without a sort.
const LIST_ORDER = 't.severity_rank asc, t.last_seen_at desc, t.id asc';

/** `/guardian`: start a scan (operator), list scans and findings (viewer), dismiss a finding (operator). */
export function guardianRouter(deps: { orm: MikroORM; temporal: Client; config: Config }): Router<AppState> {
  const { orm } = deps;
  const router = new Router<AppState>({ prefix: '/guardian' });
  const em = () => orm.em as EntityManager;

  router.post(
    '/scans',
    doc({
      summary: 'Start a Guardian security scan',
      role: 'operator',
      responses: {
        202: {
          description: 'started: the run id (the run is recorded from now on), the workflow id and its status URL',
          schema: startedRunResponse,
        },
      },
      errors: { 409: startRunConflict },
    }),
    requireRole('operator'),
    startAgentRun(deps, {
      agentId: 'guardian',
      kind: 'guardian_scan',
      workflowType: GUARDIAN_SCAN_WORKFLOW,
      workflowId: 'guardian-scan',
    }),
  );
  router.get(
    '/scans',
    doc({
      summary: 'List Guardian scans, newest first',
      role: 'viewer',
      query: listRunsQuery,
      responses: { 200: { description: 'a page of scans', schema: runPageResponse } },
    }),
    requireRole('viewer'),
    listAgentRuns(orm, 'guardian_scan'),
  );

  router.get(
    '/findings',
    doc({
      summary: 'List security findings, most severe first',
      role: 'viewer',
      query: listFindingsQuery,
      responses: { 200: { description: 'a page of findings', schema: findingPageResponse } },
    }),
    requireRole('viewer'),
    async (ctx) => {
      const q = parse(listFindingsQuery, ctx.query);
      const filters = sqlFilters([
        ['t.kind', 'security'],
        ['t.severity', q.severity],
        ['t.status', q.status],
        ['t.tool', q.tool],
      ]);
      const { rows, total } = await readPage(orm, Finding, {
        ...filters,
        orderBy: LIST_ORDER,
        limit: q.limit,
        offset: q.offset,
      });
      ctx.body = page(
        rows.map(({ item }) => presentFinding(item)),
        total,
        q,
      );
    },
  );

  router.post(
    '/findings/:id/dismiss',
    doc({
      summary: 'Dismiss a finding with a reason',
      role: 'operator',
      params: findingParams,
      body: dismissBody,
      responses: { 200: { description: 'the dismissed finding', schema: findingResponse } },
      errors: { 409: 'the finding is already resolved' },
    }),
    requireRole('operator'),
    async (ctx) => {
      const { id } = parse(findingParams, ctx.params);
      const { reason } = parse(dismissBody, ctx.request.body);
      const finding = await em().findOne(Finding, { id });
      if (finding === null) throw notFound(`finding "${id}"`);
      ctx.state.auditTarget = `finding:${id}`;
      if (finding.status === 'resolved') throw conflict('the finding is already resolved');
      Object.assign(finding, {
        status: 'dismissed',
        dismissedAt: new Date(),
        dismissedBy: ctx.state.auth?.name ?? null,
        dismissReason: reason,
      });
      await em().flush();
      ctx.body = presentFinding(finding);
    },
  );

  return router;
}
