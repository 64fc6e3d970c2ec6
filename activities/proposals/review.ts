import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../../src/config';
import { diffReviewSchema } from '../../src/contracts';
import type { LlmGateway } from '../../src/llm';
import { applyPatch, withWorktree } from '../../src/target';
import { runSecurityScanners, type RawFinding } from '../../src/target/scanners';
import { askModel } from '../llm.activities';
import { runTarget } from '../runs.activities';
import { loadProposal } from './shared';

const BLOCKING = new Set(['high', 'critical']);

type ScanSummary = { newFindings: Array<Pick<RawFinding, 'tool' | 'rule' | 'severity' | 'title' | 'message' | 'file' | 'line'>>; tools: Array<{ tool: string; status: string }> };
type ModelReview = { summary: string; concerns: Array<{ severity: string; file: string | null; message: string }>; provider: string; model: string } | { unavailable: string };

/**
 * Guardian's scanners on the changed files, before and after the patch: what the patch introduces (by fingerprint).
 * Stored on the proposal's Guardian review.
 */
export async function scanProposal(deps: { orm: MikroORM; config: Config }, proposalId: string): Promise<ScanSummary> {
  const em = deps.orm.em.fork() as EntityManager;
  const p = await loadProposal(em, proposalId);
  const stored = p.guardianReview?.scan as ScanSummary | undefined;
  if (stored !== undefined) return stored;
  const { target } = await runTarget(deps.orm, deps.config);
  const changed = new Set(p.changedFiles);
  const scan = await withWorktree(
    target.path,
    async (wt) => {
      const before = await runSecurityScanners(wt.dir, { npmAudit: false });
      await applyPatch(wt.dir, p.diff ?? '');
      const after = await runSecurityScanners(wt.dir, { npmAudit: false });
      const known = new Set(before.findings.map((f) => f.fingerprint));
      return { newFindings: after.findings.filter((f) => f.file !== null && changed.has(f.file) && !known.has(f.fingerprint)), tools: after.tools };
    },
    p.baseCommit ?? 'HEAD',
  );
  const summary: ScanSummary = {
    newFindings: scan.newFindings.map(({ tool, rule, severity, title, message, file, line }) => ({ tool, rule, severity, title, message, file, line })),
    tools: scan.tools.map(({ tool, status }) => ({ tool, status })),
  };
  p.guardianReview = { ...p.guardianReview, scan: summary };
  await em.flush();
  return summary;
}

/** Guardian's model reads the diff with its rationale and names its concerns; gateway failures are thrown (the workflow records them). */
export async function modelReviewProposal(deps: { orm: MikroORM; llm: LlmGateway }, proposalId: string): Promise<{ concerns: number }> {
  const em = deps.orm.em.fork() as EntityManager;
  const p = await loadProposal(em, proposalId);
  const stored = p.guardianReview?.model as ModelReview | undefined;
  if (stored !== undefined && !('unavailable' in stored)) return { concerns: stored.concerns.length };
  const reply = await askModel(deps.llm, {
    agentId: 'guardian',
    purpose: 'proposal.review',
    schema: diffReviewSchema,
    schemaName: 'diff_review',
    messages: [
      { role: 'system', content: 'You are Guardian, the security agent. Review this proposed diff for security problems (secrets, injection, unsafe file or process use, weakened checks) and correctness risks. Rate each concern low, medium, high or critical; high and critical block the change.' },
      { role: 'user', content: `Title: ${p.title}\nRationale: ${p.rationale}\nRisk (author's view): ${p.risk}\n\nDiff:\n${p.diff}` },
    ],
    maxTokens: 2000,
    temperature: 0,
  });
  p.guardianReview = { ...p.guardianReview, model: { ...reply.output, provider: reply.provider, model: reply.model } };
  await em.flush();
  return { concerns: reply.output.concerns.length };
}

/**
 * Guardian's verdict: a new high/critical scanner finding in the changed files, or a high/critical concern of the
 * model, blocks the proposal. `modelUnavailable` records why the model did not review (the scanners still gate).
 */
export async function guardianVerdict(orm: MikroORM, proposalId: string, modelUnavailable: string | null): Promise<{ blocked: boolean; reasons: string[] }> {
  const em = orm.em.fork() as EntityManager;
  const p = await loadProposal(em, proposalId);
  const scan = (p.guardianReview?.scan as ScanSummary | undefined) ?? { newFindings: [], tools: [] };
  let model = p.guardianReview?.model as ModelReview | undefined;
  if (modelUnavailable !== null && (model === undefined || 'unavailable' in model)) model = { unavailable: modelUnavailable };
  const reasons = [
    ...scan.newFindings.filter((f) => BLOCKING.has(f.severity)).map((f) => `${f.severity} ${f.tool} finding in ${f.file}${f.line ? `:${f.line}` : ''}: ${f.title}`),
    ...(model !== undefined && !('unavailable' in model) ? model.concerns.filter((c) => BLOCKING.has(c.severity)).map((c) => `${c.severity} concern${c.file ? ` in ${c.file}` : ''}: ${c.message}`) : []),
  ];
  p.guardianReview = { ...p.guardianReview, model, blocked: reasons.length > 0, reasons };
  await em.flush();
  return { blocked: reasons.length > 0, reasons };
}
