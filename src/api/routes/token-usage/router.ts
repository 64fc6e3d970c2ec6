import Router from '@koa/router';
import type { z } from 'zod';
import type { EntityManager, FilterQuery, MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../../../config';
import { LlmBudget, TokenUsageEvent } from '../../../db/entities';
import { AGENT_IDS } from '../../../domain/agents';
import { budgetMonth, formatProfile, LLM_PROVIDERS, type BudgetScope, type LlmProfile } from '../../../domain/llm';
import { notConfigured } from '../../../llm/errors';
import { budgetStates, usageSummary, type UsageTotals } from '../../../llm/reports';
import { requireRole } from '../../middleware/auth';
import { doc } from '../../openapi/doc';
import { page } from '../../pagination';
import type { AppState } from '../../types';
import { parse } from '../../validate';
import { presentBudget, presentEvent, presentTotals } from './presenter';
import {
  budgetResponse,
  budgetsResponse,
  eventsQuery,
  putBudgetBody,
  scopeParams,
  summaryQuery,
  usageEventPageResponse,
  usageSummaryResponse,
} from './schema';

const NONE: UsageTotals = {
  calls: 0,
  cacheHits: 0,
  inputTokens: 0,
  outputTokens: 0,
  costUsd: 0,
  unknownCostCalls: 0,
  estimatedUsageCalls: 0,
};

/** `/token-usage`: the ledger, summed against budgets (viewer); setting budgets (admin). */
export function tokenUsageRouter({ orm, config }: { orm: MikroORM; config: Config }): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/token-usage' });
  const em = () => orm.em as EntityManager;

  router.get(
    '/summary',
    doc({
      summary: "A month's token usage and cost by agent, provider and model, against the budgets",
      role: 'viewer',
      query: summaryQuery,
      responses: { 200: { description: 'the summary', schema: usageSummaryResponse } },
    }),
    requireRole('viewer'),
    async (ctx) => {
      const { month = budgetMonth(new Date()) } = parse(summaryQuery, ctx.query);
      // One round trip: the four groupings and the budgets in one statement (issue 17).
      const {
        all,
        byAgent,
        byProvider,
        byModel,
        budgets: states,
      } = await usageSummary(orm, month, config.llm.defaultBudget);
      const budgets = new Map(states.map((b) => [b.scope, presentBudget(b)]));
      const totalsOf = (rows: Array<UsageTotals & { key: string | null }>, key: string | null) =>
        presentTotals(rows.find((r) => r.key === key) ?? NONE);
      ctx.body = {
        month,
        totals: presentTotals(all ?? NONE),
        budget: budgets.get('global'),
        byAgent: [
          ...AGENT_IDS.map((id) => ({ agentId: id, ...totalsOf(byAgent, id), budget: budgets.get(`agent:${id}`) })),
          // Calls made for no agent in particular (system work).
          { agentId: null, ...totalsOf(byAgent, null), budget: null },
        ],
        byProvider: LLM_PROVIDERS.map((p) => ({
          provider: p,
          configured: config.llm[p] !== undefined,
          ...totalsOf(byProvider, p),
          budget: budgets.get(`provider:${p}`),
        })),
        byModel: byModel.map((r) => ({ model: r.key, ...presentTotals(r) })),
        llm: llmStatus(config),
      } satisfies z.infer<typeof usageSummaryResponse>;
    },
  );

  router.get(
    '/events',
    doc({
      summary: 'The LLM call ledger, newest first',
      role: 'viewer',
      query: eventsQuery,
      responses: { 200: { description: 'a page of ledger events', schema: usageEventPageResponse } },
    }),
    requireRole('viewer'),
    async (ctx) => {
      const q = parse(eventsQuery, ctx.query);
      const where: FilterQuery<TokenUsageEvent> = {};
      if (q.month) where.month = q.month;
      if (q.agentId) where.agentId = q.agentId;
      if (q.provider) where.provider = q.provider;
      if (q.model) where.model = q.model;
      if (q.purpose) where.purpose = q.purpose;
      if (q.outcome) where.outcome = q.outcome;
      if (q.workflowId) where.workflowId = q.workflowId;
      if (q.from || q.to)
        where.at = { ...(q.from && { $gte: new Date(q.from) }), ...(q.to && { $lt: new Date(q.to) }) };
      const [events, total] = await em().findAndCount(TokenUsageEvent, where, {
        orderBy: { at: 'desc', id: 'desc' },
        limit: q.limit,
        offset: q.offset,
      });
      ctx.body = page(events.map(presentEvent), total, q);
    },
  );

  router.get(
    '/budgets',
    doc({
      summary: "This month's budgets and how much of each is spent",
      role: 'viewer',
      responses: { 200: { description: 'the budgets', schema: budgetsResponse } },
    }),
    requireRole('viewer'),
    async (ctx) => {
      const month = budgetMonth(new Date());
      ctx.body = {
        month,
        items: (await budgetStates(em(), month, config.llm.defaultBudget)).map(presentBudget),
      } satisfies z.infer<typeof budgetsResponse>;
    },
  );

  router.put(
    '/budgets/:scope',
    doc({
      summary: 'Set the monthly budget of a scope (global, an agent or a provider)',
      role: 'admin',
      params: scopeParams,
      body: putBudgetBody,
      responses: { 200: { description: 'the budget with its current spend', schema: budgetResponse } },
    }),
    requireRole('admin'),
    async (ctx) => {
      const { scope } = parse(scopeParams, ctx.params);
      const body = parse(putBudgetBody, ctx.request.body);
      ctx.state.auditTarget = `budget:${scope}`;
      const by = ctx.state.auth?.name ?? null;
      await em().upsert(LlmBudget, {
        scope,
        monthlyTokens: body.monthlyTokens,
        monthlyUsd: body.monthlyUsd,
        updatedAt: new Date(),
        updatedBy: by,
      });
      const month = budgetMonth(new Date());
      const state = (await budgetStates(em(), month, config.llm.defaultBudget)).find(
        (b) => b.scope === (scope as BudgetScope),
      );
      ctx.body = state === undefined ? null : presentBudget(state);
    },
  );

  return router;
}

/** Which providers and profiles are configured, and, when none is, what to set (features that need a key). */
function llmStatus(config: Config) {
  const show = (p: LlmProfile | undefined) => (p === undefined ? null : formatProfile(p));
  const { profiles } = config.llm;
  const configured = config.llm.openai !== undefined || config.llm.anthropic !== undefined;
  return {
    configured,
    profiles: {
      primary: show(profiles.primary),
      fallback: show(profiles.fallback),
      examiner: show(profiles.examiner ?? profiles.primary),
      judge: show(profiles.judge ?? profiles.primary),
      agents: Object.fromEntries(AGENT_IDS.map((id) => [id, show(profiles.agents[id] ?? profiles.primary)])),
    },
    ...(!configured && {
      unavailable:
        'Custody exams, learning cycles, proposals and any other LLM step fail until a provider is configured; scans, test runs and measurements still run.',
      howToEnable: notConfigured().message,
    }),
  };
}
