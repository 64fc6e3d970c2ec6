import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { z } from 'zod';
import type { Config } from '../../src/config';
import { conquestExplanationSchema, type ConquestExplanation } from '../../src/contracts';
import { AgentRun, Finding, type FindingTriage } from '../../src/db/entities';
import { untrusted, withUntrustedRule, type LlmGateway, type LlmResult } from '../../src/llm';
import { resolveInside, withWorktree, type Worktree } from '../../src/target';
import { listFiles } from '../experiments/run';
import { askAgentModel } from '../llm.activities';
import { recordRunStep, runTarget, storeRunSummary } from '../runs.activities';
import { performanceFingerprint, type Measurement } from './measure';

type Deps = { orm: MikroORM; config: Config; llm: LlmGateway };
type Sample = Measurement['samples'][number];
type Hotspot = z.infer<typeof conquestExplanationSchema>['hotspots'][number] & { sample: Sample };

/** How much target source the model is shown, in characters. */
const SOURCE_BUDGET = 40_000;
const MODULE_SUFFIXES = ['', '.js', '.cjs', '.mjs', '.ts', '/index.js'];

/**
 * Conquest's model reads the run's measurement with the bench script and the modules it requires (on a worktree at the
 * measured commit) and explains the hot spots: the explanation goes on the measure's regression finding as its triage,
 * and each hot spot becomes a `hotspot` finding with the suggested optimization. Stored on the run, so a retry after
 * success neither asks nor writes again; nothing is asked when the bench produced no samples. Throws LlmNotConfigured
 * and the other gateway failures as ApplicationFailures (the workflow records the step as unavailable).
 */
export async function explainMeasurement(deps: Deps, runId: string): Promise<ConquestExplanation> {
  const em = deps.orm.em.fork() as EntityManager;
  const run = await em.findOneOrFail(AgentRun, { id: runId });
  const stored = run.summary.explain as ConquestExplanation | undefined;
  if (stored !== undefined) return stored;
  const measurement = run.summary.measure as Measurement | undefined;
  if (measurement === undefined || measurement.samples.length === 0) return { explained: 0 };

  const { target, repo } = await runTarget(deps.orm, deps.config);
  const { hotspots, provider, model } = await withWorktree(
    target.path,
    async (wt) => {
      const sources = await benchSources(wt, measurement.command);
      const answer = await explainHotspots(deps, measurement, sources);
      return {
        hotspots: await knownHotspots(wt, measurement, answer.output.hotspots),
        provider: answer.provider,
        model: answer.model,
      };
    },
    measurement.commit,
  );
  const at = new Date().toISOString();
  const findingIds = await em.transactional(async (tx) => {
    const ids: string[] = [];
    for (const h of hotspots) {
      if (h.sample.regressed)
        await explainRegression(tx, repo.id, h, {
          verdict: 'true_positive',
          severity: null,
          explanation: h.explanation,
          suggestedFix: h.suggestion,
          provider,
          model,
          at,
        });
      ids.push(await upsertHotspot(tx, repo.id, runId, h));
    }
    return ids;
  });
  const explain: ConquestExplanation = { explained: hotspots.length, findingIds, provider, model };
  await storeRunSummary(deps.orm, runId, { explain });
  await recordRunStep(deps.orm, runId, 'explain', `${hotspots.length} hot spot(s) explained by ${provider}:${model}`);
  return explain;
}

async function explainHotspots(
  deps: { orm: MikroORM; llm: LlmGateway },
  m: Measurement,
  sources: Record<string, string>,
): Promise<LlmResult<z.infer<typeof conquestExplanationSchema>>> {
  const samples = m.samples.map(({ name, currentMs, baselineMs, change, regressed }) => ({
    measure: name,
    currentMs,
    baselineMs,
    change,
    regressed,
  }));
  const listing = Object.entries(sources)
    .map(([file, code]) => untrusted(`file ${file}`, code))
    .join('\n');
  return await askAgentModel(deps, {
    agentId: 'conquest',
    purpose: 'conquest.explain',
    schema: conquestExplanationSchema,
    schemaName: 'explanation',
    messages: [
      {
        role: 'system',
        content: withUntrustedRule(
          'You are Conquest, the performance agent. From the measurements and the source, explain the hot spots: for each measure worth it (regressions first), name the file holding the slow code, explain why it is slow, suggest one concrete optimization and estimate its gain. Use only measure names from the measurements; be concise.',
        ),
      },
      {
        role: 'user',
        content:
          `Command (${m.source}) at ${m.commit}:\n${untrusted('bench command', m.command)}\n` +
          `Measurements (JSON; change is relative to the median of the last runs):\n${untrusted("measurements (names from the repository's bench output, JSON)", JSON.stringify(samples, null, 1))}\nSource:\n${listing || '(none found)'}`,
      },
    ],
    maxTokens: 3000,
    temperature: 0.2,
  });
}

/** The model's hot spots for measured figures only (once each), with their file kept only when it is a file of the repository. */
async function knownHotspots(
  wt: Worktree,
  m: Measurement,
  answered: Array<Omit<Hotspot, 'sample'>>,
): Promise<Hotspot[]> {
  const out: Hotspot[] = [];
  for (const h of answered) {
    const sample = m.samples.find((s) => s.name === h.measure);
    if (sample === undefined || out.some((o) => o.measure === h.measure)) continue;
    out.push({ ...h, file: h.file === null ? null : await repoFile(wt, h.file), sample });
  }
  return out;
}

async function explainRegression(
  tx: EntityManager,
  repositoryId: string,
  h: Hotspot,
  triage: FindingTriage,
): Promise<void> {
  const finding = await tx.findOne(Finding, {
    repositoryId,
    fingerprint: performanceFingerprint('regression', h.measure),
  });
  if (finding !== null) finding.triage = triage;
}

/** The hot spot's finding, keyed on its measure: new → inserted; seen again → updated and, unless dismissed, open. */
async function upsertHotspot(tx: EntityManager, repositoryId: string, runId: string, h: Hotspot): Promise<string> {
  const fingerprint = performanceFingerprint('hotspot', h.measure);
  const fields = {
    severity: h.sample.regressed ? ('medium' as const) : ('low' as const),
    title: `Hot spot: ${h.measure}`,
    message: h.explanation,
    file: h.file,
    data: {
      measure: h.measure,
      currentMs: h.sample.currentMs,
      suggestion: h.suggestion,
      expectedGain: h.expectedGain,
      explanation: h.explanation,
    },
  };
  let finding = await tx.findOne(Finding, { repositoryId, fingerprint });
  if (finding === null) {
    finding = new Finding({
      repositoryId,
      agentId: 'conquest',
      kind: 'performance',
      tool: 'model',
      rule: 'hotspot',
      line: null,
      fingerprint,
      firstRunId: runId,
      ...fields,
    });
    tx.persist(finding);
  } else {
    Object.assign(finding, fields, { lastRunId: runId, lastSeenAt: new Date() });
    if (finding.status === 'resolved') Object.assign(finding, { status: 'open', resolvedAt: null });
  }
  return finding.id;
}

/**
 * What the model is shown: the scripts the command names (the test files when it names none) and, transitively, the
 * modules they load by relative require or import, resolved inside the worktree, within SOURCE_BUDGET.
 */
async function benchSources(wt: Worktree, command: string): Promise<Record<string, string>> {
  const named: string[] = [];
  for (const token of command.split(/\s+/).map((t) => t.replace(/^['"]|['"]$/g, ''))) {
    const file = token === '' || token.startsWith('-') ? null : await repoFile(wt, token);
    if (file !== null) named.push(file);
  }
  const queue = named.length > 0 ? named : Object.keys((await listFiles(wt)).tests);
  const out: Record<string, string> = {};
  let budget = SOURCE_BUDGET;
  for (let i = 0; i < queue.length && budget > 0; i++) {
    const file = queue[i] ?? '';
    if (file in out) continue;
    const code = (await wt.read(file)).slice(0, budget);
    out[file] = code;
    budget -= code.length;
    for (const spec of relativeImports(code)) {
      const dep = await resolveModule(wt, file, spec);
      if (dep !== null) queue.push(dep);
    }
  }
  return out;
}

function relativeImports(code: string): string[] {
  return [...code.matchAll(/(?:require\s*\(\s*|import\s*\(\s*|from\s+)['"](\.{1,2}\/[^'"]+)['"]/g)].map(
    (m) => m[1] ?? '',
  );
}

async function resolveModule(wt: Worktree, from: string, spec: string): Promise<string | null> {
  const base = path.posix.join(path.posix.dirname(from), spec);
  for (const suffix of MODULE_SUFFIXES) {
    const file = await repoFile(wt, base + suffix);
    if (file !== null) return file;
  }
  return null;
}

/** `relative` as a repository-relative path when it names a regular file inside the worktree (not under .git), else null. */
async function repoFile(wt: Worktree, relative: string): Promise<string | null> {
  try {
    const full = await resolveInside(wt.dir, relative);
    const rel = path
      .relative(await realpath(wt.dir), full)
      .split(path.sep)
      .join('/');
    if (rel === '' || rel === '.git' || rel.startsWith('.git/')) return null;
    return (await stat(full)).isFile() ? rel : null;
  } catch {
    return null;
  }
}
