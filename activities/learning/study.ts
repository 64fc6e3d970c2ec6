import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { studyNotesSchema, type CyclePlan, type CycleStudyOutcome } from '../../src/contracts';
import { Agent, AgentRun, Finding, KnowledgeNote } from '../../src/db/entities';
import { MAX_NOTES, type AgentId } from '../../src/domain';
import { untrusted, withUntrustedRule, type LlmGateway } from '../../src/llm';
import { askAgentModel } from '../llm.activities';

const SEVERITY_ORDER = ['critical', 'high', 'medium', 'low'];

export interface StudyInput {
  runId: string;
  workflowId: string;
  agentId: AgentId;
  /** the run of the agent's own child workflow in this cycle (Imperium has none) */
  childRunId: string | null;
}

/**
 * One agent's study (ARCHITECTURE §3.2 step 3): its own model writes up to 3 knowledge notes from its planned topics
 * and what its child workflow found in this cycle (Imperium: from the children's outcomes). Every note keeps its
 * sources — the cycle, and the topics, findings and run it cites (a cited finding or run the agent was not shown is
 * dropped). Notes are keyed on the cycle, so a retry writes none twice. Gateway failures are thrown as
 * ApplicationFailures; the workflow records the study as unavailable and goes on.
 */
export async function studyForCycle(
  deps: { orm: MikroORM; llm: LlmGateway },
  input: StudyInput,
): Promise<CycleStudyOutcome> {
  const em = deps.orm.em.fork() as EntityManager;
  const cycleSource = { kind: 'cycle', ref: input.workflowId };
  const existing = (await em
    .getConnection()
    .execute('select id from knowledge_notes where agent_id = ? and sources @> ?::jsonb order by created_at, id', [
      input.agentId,
      JSON.stringify([cycleSource]),
    ])) as Array<{ id: string }>;
  if (existing.length > 0)
    return { agentId: input.agentId, notes: existing.length, noteIds: existing.map((r) => r.id) };

  const cycle = await em.findOneOrFail(AgentRun, { id: input.runId });
  const topics =
    (cycle.summary.plan as CyclePlan | undefined)?.agents.find((a) => a.agentId === input.agentId)?.topics ?? [];
  const agent = await em.findOneOrFail(Agent, { id: input.agentId });
  const findings =
    input.childRunId === null
      ? []
      : (
          await em.find(
            Finding,
            { $or: [{ firstRunId: input.childRunId }, { lastRunId: input.childRunId }], status: 'open' },
            { orderBy: { firstSeenAt: 'asc' } },
          )
        )
          .sort((a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity))
          .slice(0, 12);
  const children =
    input.agentId === 'imperium'
      ? (await em.find(AgentRun, { workflowId: { $like: `${input.workflowId.replace(/[\\%_]/g, '\\$&')}-%` } })).map(
          (r) => ({
            runId: r.id,
            agentId: r.agentId,
            kind: r.kind,
            status: r.status,
            error: r.error,
            summary: r.summary,
          }),
        )
      : [];
  const material = {
    topics,
    findings: findings.map((f) => ({
      id: f.id,
      kind: f.kind,
      severity: f.severity,
      title: f.title,
      file: f.file,
      line: f.line,
      message: f.message.slice(0, 600),
      triage: f.triage?.explanation ?? null,
    })),
    ...(input.childRunId !== null && { run: input.childRunId }),
    ...(children.length > 0 && {
      childRuns: children.map((c) => ({ ...c, summary: JSON.stringify(c.summary).slice(0, 1500) })),
    }),
  };

  const reply = await askAgentModel(deps, {
    agentId: input.agentId,
    purpose: 'cycle.study',
    schema: studyNotesSchema,
    schemaName: 'study_notes',
    messages: [
      {
        role: 'system',
        content:
          `You are ${agent.name}. ${agent.description} Study: write at most ${MAX_NOTES} knowledge notes you will rely on in later exams and work. ` +
          withUntrustedRule(
            'Each note is self-contained, concrete and specific to this code base and its findings; cite its sources (topic titles, finding ids, the run id) exactly as given.',
          ),
      },
      {
        role: 'user',
        content: `Study material (JSON):\n${untrusted('study material: planned topics, findings (scanner messages, model triage) and run outcomes (JSON)', JSON.stringify(material, null, 1))}`,
      },
    ],
    maxTokens: 3000,
    temperature: 0.3,
  });

  const known = {
    topic: new Set(topics.map((t) => t.title)),
    finding: new Set(findings.map((f) => f.id)),
    run: new Set([input.childRunId, ...children.map((c) => c.runId)].filter((r): r is string => r !== null)),
  };
  const notes = reply.output.notes.map(
    (n) =>
      new KnowledgeNote({
        agentId: input.agentId,
        category: n.category,
        title: n.title,
        body: n.body,
        sources: [cycleSource, ...dedupe(n.sources.filter((s) => known[s.kind].has(s.ref)))],
      }),
  );
  await em.persistAndFlush(notes);
  return { agentId: input.agentId, notes: notes.length, noteIds: notes.map((n) => n.id) };
}

function dedupe<T extends { kind: string; ref: string }>(sources: T[]): T[] {
  const seen = new Set<string>();
  return sources.filter((s) => !seen.has(`${s.kind}\0${s.ref}`) && seen.add(`${s.kind}\0${s.ref}`) !== undefined);
}
