import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../../src/config';
import { proposalDraftSchema } from '../../src/contracts';
import { Finding } from '../../src/db/entities';
import { checkDiff, type AgentId } from '../../src/domain';
import { untrusted, withUntrustedRule, type LlmGateway } from '../../src/llm';
import { headCommit, withWorktree, type Worktree } from '../../src/target';
import { listFiles } from '../experiments/run';
import { askAgentModel } from '../llm.activities';
import { runTarget } from '../runs.activities';
import { loadProposal } from './shared';

const SOURCE_BUDGET = 40_000;

/** The files the agent needs to see: the finding's file, else the repository's sources (bounded). */
async function material(wt: Worktree, finding: Finding | null): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  if (finding?.file) {
    const content = await wt.read(finding.file).catch(() => null);
    if (content !== null) files[finding.file] = content.slice(0, SOURCE_BUDGET);
  }
  if (Object.keys(files).length === 0 || finding?.kind === 'experiment') {
    const { sources } = await listFiles(wt);
    let used = 0;
    for (const [file, content] of Object.entries(sources)) {
      if (used + content.length > SOURCE_BUDGET) break;
      files[file] ??= content;
      used += content.length;
    }
  }
  return files;
}

/**
 * The agent's model writes draft `draftNo` (a unified diff, title, rationale, risk) for the proposal's finding or goal,
 * from the files at the proposal's base commit (the target's head when first drafted); a redraft also gets the previous
 * diff and what was wrong with it. Stored on the proposal; a retry of the same draft returns the stored one.
 */
export async function draftProposal(
  deps: { orm: MikroORM; config: Config; llm: LlmGateway },
  proposalId: string,
  draftNo: number,
  feedback: string | null,
): Promise<{ title: string; changedLines: number; files: string[] }> {
  const em = deps.orm.em.fork() as EntityManager;
  const p = await loadProposal(em, proposalId);
  if (p.drafts >= draftNo && p.title !== null)
    return { title: p.title, changedLines: p.changedLines, files: p.changedFiles };

  const { target } = await runTarget(deps.orm, deps.config);
  p.baseCommit ??= await headCommit(target.path);
  const finding = p.findingId === null ? null : await em.findOne(Finding, { id: p.findingId });
  const files = await withWorktree(target.path, (wt) => material(wt, finding), p.baseCommit);
  const task =
    finding === null
      ? { goal: p.goal }
      : {
          finding: {
            kind: finding.kind,
            title: finding.title,
            message: finding.message,
            file: finding.file,
            line: finding.line,
            rule: finding.rule,
            triage: finding.triage?.explanation ?? null,
            suggestedFix: finding.triage?.suggestedFix ?? (finding.data.suggestion as string | undefined) ?? null,
            // An experiment finding carries the passing test it proposes to add.
            ...(finding.kind === 'experiment' && { testFile: finding.data.file, testContent: finding.data.content }),
          },
        };
  const max = deps.config.proposals.maxChangedLines;
  const reply = await askAgentModel(deps, {
    agentId: p.agentId as AgentId,
    purpose: 'proposal.draft',
    schema: proposalDraftSchema,
    schemaName: 'proposal_draft',
    messages: [
      {
        role: 'system',
        content:
          `You are ${p.agentId}, an agent that improves a JavaScript repository. Propose one small, safe change as a unified diff in git format ` +
          `(--- a/<path> and +++ b/<path> headers with paths relative to the repository root, correct @@ hunk line counts, exact context lines). ` +
          withUntrustedRule(
            `At most ${max} changed lines; never touch .git, never use absolute paths or "..". Keep the existing tests passing. Give a title, the rationale and the risk.`,
          ),
      },
      {
        role: 'user',
        content:
          // The operator's goal is the task itself; a finding (scanner message, triage, proposed test) is repository data.
          `Task (JSON):\n${finding === null ? JSON.stringify(task, null, 1) : untrusted('the finding to fix: scanner output, model triage and suggestion (JSON)', JSON.stringify(task, null, 1))}\n\n` +
          `Files at ${p.baseCommit}:\n${Object.entries(files)
            .map(([f, c]) => untrusted(`file ${f}`, c))
            .join('\n')}` +
          (feedback !== null && p.diff !== null
            ? `\n\nYour previous diff:\n${untrusted('your previous diff', p.diff)}\n\nIt was not accepted:\n${untrusted("why the previous diff was not accepted (validation problems, or the repository's test output)", feedback)}\nWrite a corrected diff.`
            : ''),
      },
    ],
    maxTokens: 4000,
    temperature: 0.2,
    cacheTtlSeconds: 0,
  });
  const draft = reply.output;
  const check = checkDiff(draft.diff, { maxChangedLines: max });
  Object.assign(p, {
    title: draft.title,
    rationale: draft.rationale,
    risk: draft.risk,
    diff: draft.diff,
    drafts: draftNo,
    changedFiles: check.files,
    changedLines: check.changedLines,
    validation: null,
    tests: null,
  });
  await em.flush();
  return { title: draft.title, changedLines: check.changedLines, files: check.files };
}
