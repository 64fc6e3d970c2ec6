import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../../src/config';
import { diffReviewSchema } from '../../src/contracts';
import {
  guardianVerdict as decideVerdict,
  modelReviewOutcome,
  type ModelReview,
} from '../../src/domain/guardian-review';
import { untrusted, withUntrustedRule, type LlmGateway } from '../../src/llm';
import { applyPatch, withWorktree } from '../../src/target';
import { runSecurityScanners, type RawFinding } from '../../src/target/scanners';
import { askAgentModel } from '../llm.activities';
import { runTarget } from '../runs.activities';
import { loadProposal } from './shared';

type ScanSummary = {
  newFindings: Array<Pick<RawFinding, 'tool' | 'rule' | 'severity' | 'title' | 'message' | 'file' | 'line'>>;
  tools: Array<{ tool: string; status: string }>;
};

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
      return {
        newFindings: after.findings.filter((f) => f.file !== null && changed.has(f.file) && !known.has(f.fingerprint)),
        tools: after.tools,
      };
    },
    p.baseCommit ?? 'HEAD',
  );
  const summary: ScanSummary = {
    newFindings: scan.newFindings.map(({ tool, rule, severity, title, message, file, line }) => ({
      tool,
      rule,
      severity,
      title,
      message,
      file,
      line,
    })),
    tools: scan.tools.map(({ tool, status }) => ({ tool, status })),
  };
  p.guardianReview = { ...p.guardianReview, scan: summary };
  await em.flush();
  return summary;
}

/** Guardian's model reads the diff with its rationale and names its concerns; gateway failures are thrown (the workflow records them). */
export async function modelReviewProposal(
  deps: { orm: MikroORM; llm: LlmGateway },
  proposalId: string,
): Promise<{ concerns: number }> {
  const em = deps.orm.em.fork() as EntityManager;
  const p = await loadProposal(em, proposalId);
  const stored = p.guardianReview?.model as ModelReview | undefined;
  if (stored !== undefined && !('unavailable' in stored)) return { concerns: stored.concerns.length };
  const reply = await askAgentModel(deps, {
    agentId: 'guardian',
    purpose: 'proposal.review',
    schema: diffReviewSchema,
    schemaName: 'diff_review',
    messages: [
      {
        role: 'system',
        content: withUntrustedRule(
          'You are Guardian, the security agent. Review this proposed diff for security problems (secrets, injection, unsafe file or process use, weakened checks) and correctness risks. Rate each concern low, medium, high or critical; high and critical block the change.',
        ),
      },
      {
        role: 'user',
        content:
          `Title:\n${untrusted('proposal title (written by the drafting model)', p.title ?? '')}\nRationale:\n${untrusted('proposal rationale (written by the drafting model)', p.rationale ?? '')}\n` +
          `Risk (author's view):\n${untrusted('proposal risk (written by the drafting model)', p.risk ?? '')}\n\nDiff:\n${untrusted('proposed diff (written by the drafting model against the repository)', p.diff ?? '')}`,
      },
    ],
    maxTokens: 2000,
    temperature: 0,
  });
  p.guardianReview = { ...p.guardianReview, model: { ...reply.output, provider: reply.provider, model: reply.model } };
  await em.flush();
  return { concerns: reply.output.concerns.length };
}

/**
 * Guardian's verdict (src/domain/guardian-review.ts), stored on the proposal's Guardian review with the model review's
 * state (`modelReview`: passed, concerns or unavailable, and `modelReviewReason` when unavailable). `modelUnavailable`
 * records why the model did not review; with PROPOSAL_REQUIRE_MODEL_REVIEW on, that blocks the proposal.
 */
export async function guardianVerdict(
  deps: { orm: MikroORM; config: Config },
  proposalId: string,
  modelUnavailable: string | null,
): Promise<{ blocked: boolean; reasons: string[] }> {
  const em = deps.orm.em.fork() as EntityManager;
  const p = await loadProposal(em, proposalId);
  const scan = (p.guardianReview?.scan as ScanSummary | undefined) ?? { newFindings: [], tools: [] };
  let model = p.guardianReview?.model as ModelReview | undefined;
  // A review that was never recorded is unavailable, never a pass.
  if (model === undefined || 'unavailable' in model)
    model = { unavailable: modelUnavailable ?? (model?.unavailable || 'no model review was recorded') };
  const { blocked, reasons } = decideVerdict(scan.newFindings, model, deps.config.proposals.requireModelReview);
  const outcome = modelReviewOutcome(model);
  p.guardianReview = {
    ...p.guardianReview,
    model,
    modelReview: outcome?.state,
    modelReviewReason: outcome?.reason,
    blocked,
    reasons,
  };
  await em.flush();
  return { blocked, reasons };
}
