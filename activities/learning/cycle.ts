import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import {
  CYCLE_CHILDREN,
  type CycleChildOutcome,
  type CycleProposalCandidate,
  type CycleStudyOutcome,
} from '../../src/contracts';
import { agentEligibility } from '../../src/db/eligibility';
import type { Rules } from '../../src/domain/rules';
import { Agent, AgentRun, AgentSkillRating, Finding, Proposal } from '../../src/db/entities';
import { bestProposalCandidate, type FindingForProposal } from '../../src/domain';
import { createNotification } from '../../src/notifications/create';
import { storeRunSummary } from '../runs.activities';

export interface CycleStep {
  step: string;
  outcome: 'ok' | 'partial' | 'failed' | 'skipped';
  detail?: string;
  /** the cycle's own gateway calls this step made, by purpose */
  purposes?: string[];
  /** the child workflows this step ran, whose gateway calls count towards it */
  childWorkflowIds?: string[];
}

export interface Usage {
  calls: number;
  tokens: number;
  costUsd: number;
}

/** `workflow_id` of the cycle or one of its children (`<cycle id>-…`). */
const IN_CYCLE = '(workflow_id = ? or left(workflow_id, ?) = ?)';
const inCycle = (workflowId: string) => [workflowId, workflowId.length + 1, `${workflowId}-`];

function usageOf(
  row: { calls: number | string; tokens: number | string | null; cost: number | string | null } | undefined,
): Usage {
  return {
    calls: Number(row?.calls ?? 0),
    tokens: Number(row?.tokens ?? 0),
    costUsd: Math.round(Number(row?.cost ?? 0) * 1e6) / 1e6,
  };
}

const USAGE_COLUMNS =
  'count(*)::int as calls, sum(input_tokens + output_tokens)::bigint as tokens, sum(cost_usd)::float as cost';

/** The cycle's steps, with their gateway usage, on its run row; the rest of the cycle's bookkeeping. */
export function createCycleActivities({ orm, rules }: { orm: MikroORM; rules: Rules }) {
  const conn = () => orm.em.getConnection();
  return {
    /**
     * Appends a step that just ended to the cycle's run, once whatever the retries: its outcome, its start (the end of
     * the step before it — the cycle's steps run one after another), its duration, and its tokens and cost from the ledger.
     */
    async recordCycleStep(runId: string, workflowId: string, step: CycleStep): Promise<Usage> {
      const [row] = (await conn().execute(
        `select ${USAGE_COLUMNS} from token_usage_events
          where (workflow_id = ? and purpose in (select jsonb_array_elements_text(?::jsonb))) or workflow_id in (select jsonb_array_elements_text(?::jsonb))`,
        [workflowId, JSON.stringify(step.purposes ?? []), JSON.stringify(step.childWorkflowIds ?? [])],
      )) as Array<{ calls: number; tokens: string | null; cost: number | null }>;
      const usage = usageOf(row);
      const run = await (orm.em.fork() as EntityManager).findOneOrFail(AgentRun, { id: runId });
      const startedAt = run.steps.at(-1)?.at ?? run.startedAt.toISOString();
      const now = new Date();
      const entry = {
        step: step.step,
        at: now.toISOString(),
        startedAt,
        durationMs: Math.max(0, now.getTime() - Date.parse(startedAt)),
        outcome: step.outcome,
        ...(step.detail !== undefined && { detail: step.detail.slice(0, 1000) }),
        ...usage,
      };
      await conn().execute(
        'update agent_runs set steps = steps || ?::jsonb where id = ? and not steps @> ?::jsonb',
        [JSON.stringify([entry]), runId, JSON.stringify([{ step: step.step }])],
        'run',
      );
      return usage;
    },

    /**
     * Analytics (ARCHITECTURE §3.2 step 4): per agent its level and xp, pass rate over its last 10 exams, ratings,
     * open findings, and tokens and cost in this cycle (its children included); stored on the cycle's run.
     */
    async cycleAnalytics(runId: string, workflowId: string): Promise<{ usage: Usage }> {
      const em = orm.em.fork() as EntityManager;
      const agents = await em.find(Agent, {}, { orderBy: { id: 'asc' } });
      const ratings = await em.find(AgentSkillRating, {});
      const rates = (await conn().execute(
        `select agent_id, count(*)::int as exams, avg(case when status = 'passed' then 1 else 0 end)::float as pass_rate
           from (select agent_id, status, row_number() over (partition by agent_id order by completed_at desc) as n
                   from exams where status in ('passed', 'failed')) recent
          where n <= 10 group by agent_id`,
      )) as Array<{ agent_id: string; exams: number; pass_rate: number }>;
      const open = (await conn().execute(
        `select agent_id, count(*)::int as n from findings where status = 'open' group by agent_id`,
      )) as Array<{ agent_id: string; n: number }>;
      const spent = (await conn().execute(
        `select agent_id, ${USAGE_COLUMNS} from token_usage_events where ${IN_CYCLE} group by agent_id`,
        inCycle(workflowId),
      )) as Array<{ agent_id: string | null; calls: number; tokens: string | null; cost: number | null }>;
      const [total] = (await conn().execute(
        `select ${USAGE_COLUMNS} from token_usage_events where ${IN_CYCLE}`,
        inCycle(workflowId),
      )) as Array<{
        calls: number;
        tokens: string | null;
        cost: number | null;
      }>;
      const analytics = {
        agents: agents.map((a) => {
          const rate = rates.find((r) => r.agent_id === a.id);
          return {
            agentId: a.id,
            status: a.status,
            level: a.level,
            xp: a.xp,
            passRate: rate === undefined ? null : Math.round(Number(rate.pass_rate) * 1000) / 1000,
            recentExams: rate?.exams ?? 0,
            ratings: Object.fromEntries(
              ratings.filter((r) => r.agentId === a.id).map((r) => [r.category, Math.round(r.rating)]),
            ),
            openFindings: open.find((o) => o.agent_id === a.id)?.n ?? 0,
            cycleUsage: usageOf(spent.find((s) => s.agent_id === a.id)),
          };
        }),
        usage: usageOf(total),
      };
      await storeRunSummary(orm, runId, { analytics });
      return { usage: analytics.usage };
    },

    /**
     * Who may propose what (ARCHITECTURE §3.2 step 5): per agent with findings, the eligibility decision and its most
     * severe actionable finding not yet proposed.
     */
    async cycleProposalCandidates(): Promise<CycleProposalCandidate[]> {
      const em = orm.em.fork() as EntityManager;
      const findings = await em.find(Finding, { status: 'open' }, { orderBy: { firstSeenAt: 'asc', id: 'asc' } });
      const proposals = await em.find(Proposal, { findingId: { $in: findings.map((f) => f.id) } });
      // A finding counts as proposed once a proposal for it got past eligibility and drafting.
      const proposed = new Set(
        proposals.filter((p) => !['ineligible', 'failed', 'cancelled'].includes(p.status)).map((p) => p.findingId),
      );
      const candidates: CycleProposalCandidate[] = [];
      for (const agentId of [...CYCLE_CHILDREN].sort()) {
        const decision = await agentEligibility(em, agentId, rules);
        const own: Array<FindingForProposal & { id: string }> = findings
          .filter((f) => f.agentId === agentId)
          .map((f) => ({
            id: f.id,
            agentId: f.agentId,
            kind: f.kind,
            severity: f.severity,
            status: f.status,
            triageVerdict: f.triage?.verdict ?? null,
            proposed: proposed.has(f.id),
          }));
        candidates.push({
          agentId,
          eligible: decision.eligible,
          reasons: decision.reasons,
          findingId: bestProposalCandidate(own)?.id ?? null,
        });
      }
      return candidates;
    },

    /** The cycle's summary notification, or `cycle_failed` with the cause; once per cycle either way. */
    async notifyCycle(
      runId: string,
      workflowId: string,
      outcome:
        | { status: 'completed'; children: CycleChildOutcome[]; study: CycleStudyOutcome[]; usage: Usage }
        | { status: 'failed'; error: string },
    ): Promise<void> {
      const em = orm.em.fork() as EntityManager;
      if (outcome.status === 'failed') {
        await createNotification(em, {
          kind: 'cycle_failed',
          title: 'Learning cycle failed',
          message: `${workflowId} failed: ${outcome.error}`.slice(0, 2000),
          priority: 'high',
          data: { runId, workflowId, error: outcome.error },
          dedupeKey: `cycle:${workflowId}`,
        });
        return;
      }
      const children = outcome.children
        .map((c) => `${c.agentId} ${c.status}${c.error ? ` (${c.error.slice(0, 200)})` : ''}`)
        .join(', ');
      const notes = outcome.study.reduce((n, s) => n + s.notes, 0);
      const unstudied = outcome.study.filter((s) => s.unavailable !== undefined).map((s) => s.agentId);
      await createNotification(em, {
        kind: 'cycle_completed',
        title: `Learning cycle: ${notes} knowledge note${notes === 1 ? '' : 's'}, ${outcome.children.filter((c) => c.status === 'failed').length} failed child workflow(s)`,
        message:
          `Children: ${children}. Notes written: ${notes}${unstudied.length > 0 ? ` (no study for ${unstudied.join(', ')}: model unavailable)` : ''}. ` +
          `LLM: ${outcome.usage.calls} calls, ${outcome.usage.tokens} tokens, $${outcome.usage.costUsd.toFixed(4)}.`,
        priority: outcome.children.some((c) => c.status === 'failed') ? 'normal' : 'low',
        data: { runId, workflowId, children: outcome.children, notes, usage: outcome.usage },
        dedupeKey: `cycle:${workflowId}`,
      });
    },

    /** The id of the run a workflow recorded (a failed child's, the cycle's own), or null when it recorded none. */
    async runIdOf(workflowId: string): Promise<string | null> {
      const run = await (orm.em.fork() as EntityManager).findOne(AgentRun, { workflowId });
      return run?.id ?? null;
    },
  };
}
