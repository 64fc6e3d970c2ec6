import type { FakeReply, FakeRequest } from '../fakes/llm-servers';
import { untrustedContent } from '../helpers/llm';
import { workflowEnding } from './exams';
import type { Stage } from './harness';
import type { ScriptedLlm } from './llm-script';
import { query } from './measures';
import { startWork, WORK_KINDS } from './runs';

/** How long the cycle may take: three children (a scan, an experiment in the sandbox, an analysis), then the rest. */
const CYCLE_ENDING_MS = 300_000;
const CYCLE = WORK_KINDS.find((k) => k.name === 'learning cycle');

const SANDBOX_TEST =
  "'use strict';\nconst { test } = require('node:test');\nconst assert = require('node:assert/strict');\nconst { truncate } = require('../src/format');\ntest('t', () => assert.equal(truncate('abc', 10), 'abc'));\n";

/** Each agent's study: one note citing the first topic it was shown. */
function studyReply(req: FakeRequest): FakeReply {
  const agent = /You are (\w+)\./.exec(req.prompt)?.[1] ?? 'Unknown';
  const material = JSON.parse(untrustedContent(req.prompt, 'study material')) as { topics: Array<{ title: string }> };
  const sources = material.topics.slice(0, 1).map((t) => ({ kind: 'topic', ref: t.title }));
  return {
    json: {
      notes: [
        {
          title: `${agent} chaos study note`,
          body: `${agent} learned: build SQL with placeholders, never by concatenation.`,
          category: null,
          sources,
        },
      ],
    },
  };
}

/**
 * Scripts the fake model for a whole cycle (plan, triage, the experiment's test, the analysis, the studies) and holds
 * every study call from the first until `release`: the cycle's children are done and its study step is in flight.
 */
function scriptCycle(stage: Stage, llm: ScriptedLlm): { sprung: Promise<void>; release: () => void } {
  const { openai } = stage.lab.fakes;
  let released = false;
  let spring: () => void = () => undefined;
  const sprung = new Promise<void>((resolve) => (spring = resolve));
  openai.when('Study: write', (req) => {
    if (released) return studyReply(req);
    llm.held.add(req);
    spring();
    return { hang: true };
  });
  openai.when('Plan this learning cycle', {
    json: {
      agents: [
        {
          agentId: 'guardian',
          topics: [
            { title: 'Parameterised SQL queries', category: 'security_awareness', why: 'open SQL injection finding' },
          ],
        },
      ],
    },
  });
  openai.when('Triage static-analysis', (req) => ({
    json: {
      findings: [...req.prompt.matchAll(/"id": "([0-9a-f-]{36})"/g)].map((m) => ({
        id: m[1],
        verdict: 'needs_review',
        explanation: 'check it',
      })),
    },
  }));
  openai.when('You are Sandbox', {
    json: { file: 'test/format.test.js', content: SANDBOX_TEST, rationale: 'untested module' },
  });
  openai.when('You are Conquest', { json: { hotspots: [] } });
  return { sprung, release: () => (released = true) };
}

/**
 * A learning cycle started over the API runs its three children; the worker is SIGKILLed while the study step's model
 * calls are in flight and a new worker starts. Correct: the cycle's workflow completes, its run row and each child's
 * run row exist once and are `completed`, each study note is written once, one cycle notification.
 */
export async function cycleStudyWorkerKilled(
  stage: Stage,
  llm: ScriptedLlm,
): Promise<{ correct: boolean; notes: string[] }> {
  if (CYCLE === undefined) throw new Error('no learning cycle work kind');
  const trap = scriptCycle(stage, llm);
  const first = await stage.workers.start();
  const started = await startWork(stage, CYCLE);
  if (started.workflowId === undefined) return { correct: false, notes: [`the cycle was answered ${started.status}`] };
  const workflowId = started.workflowId;
  await Promise.race([
    trap.sprung,
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error('the cycle did not reach its study step in 240 s')), 240_000),
    ),
  ]);
  await stage.workers.kill(first);
  trap.release();
  await stage.workers.start();
  const ending = await workflowEnding(stage, workflowId, CYCLE_ENDING_MS);
  const runs = await query<{ workflow_id: string; status: string }>(
    stage,
    `select workflow_id, status from agent_runs where workflow_id = $1 or workflow_id like $2 order by workflow_id`,
    [workflowId, `${workflowId}-%`],
  );
  const [counts] = await query<{ notifications: number; notes: number; titles: number }>(
    stage,
    `select (select count(*) from notifications where kind = 'cycle_completed' and data->>'workflowId' = $1)::int as notifications,
            (select count(*) from knowledge_notes where title like '% chaos study note')::int as notes,
            (select count(distinct (agent_id, title)) from knowledge_notes where title like '% chaos study note')::int as titles`,
    [workflowId],
  );
  const notes: string[] = [];
  if (ending.error !== undefined) notes.push(`cycle workflow: ${ending.error}`);
  if (runs.length !== 4 || runs.some((r) => r.status !== 'completed'))
    notes.push(
      `runs: ${runs.map((r) => `${r.workflow_id.slice(workflowId.length) || 'cycle'} ${r.status}`).join(', ') || 'none'}`,
    );
  if (counts?.notifications !== 1) notes.push(`${counts?.notifications ?? 0} cycle_completed notifications`);
  if ((counts?.notes ?? 0) === 0 || counts?.notes !== counts?.titles)
    notes.push(`${counts?.notes ?? 0} study notes for ${counts?.titles ?? 0} distinct ones`);
  return { correct: notes.length === 0, notes };
}
