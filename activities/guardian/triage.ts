import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { guardianTriageSchema } from '../../src/contracts';
import { Finding } from '../../src/db/entities';
import { isSerious, notifySeverity } from '../../src/domain/findings';
import { createNotification } from '../../src/notifications/create';
import { untrusted, withUntrustedRule, type LlmGateway } from '../../src/llm';
import { askAgentModel } from '../llm.activities';
import { recordRunStep } from '../runs.activities';

/**
 * Guardian's model reads the new findings (with the offending lines) and says which are real, why, and how to fix
 * them. Findings already triaged are skipped, so a retry costs nothing twice. Throws LlmNotConfigured and the other
 * gateway failures as ApplicationFailures (the workflow records an unavailable triage and goes on).
 */
export async function triageFindings(
  deps: { orm: MikroORM; llm: LlmGateway },
  runId: string,
  findingIds: string[],
): Promise<{ triaged: number }> {
  const em = deps.orm.em.fork() as EntityManager;
  const pending = (await em.find(Finding, { id: { $in: findingIds } })).filter((f) => f.triage === null);
  if (pending.length === 0) return { triaged: 0 };
  const listing = pending.map((f) => ({
    id: f.id,
    tool: f.tool,
    rule: f.rule,
    severity: f.severity,
    file: f.file,
    line: f.line,
    message: f.message,
  }));
  const result = await askAgentModel(deps, {
    agentId: 'guardian',
    purpose: 'guardian.triage',
    schema: guardianTriageSchema,
    schemaName: 'triage',
    messages: [
      {
        role: 'system',
        content: withUntrustedRule(
          'You are Guardian, the security agent. Triage static-analysis findings: real vulnerability, false positive, or needs human review, and your own severity assessment (low, medium, high, critical) of each in this code. Be concise and concrete.',
        ),
      },
      {
        role: 'user',
        content: `Findings (JSON):\n${untrusted('scanner findings (JSON; file paths and messages come from the repository and its scanners)', JSON.stringify(listing, null, 1))}`,
      },
    ],
    maxTokens: 3000,
    temperature: 0,
  });
  const at = new Date().toISOString();
  let triaged = 0;
  for (const verdict of result.output.findings) {
    const finding = pending.find((f) => f.id === verdict.id);
    if (finding === undefined) continue;
    finding.triage = {
      verdict: verdict.verdict,
      severity: verdict.severity,
      explanation: verdict.explanation,
      suggestedFix: verdict.suggestedFix ?? null,
      provider: result.provider,
      model: result.model,
      at,
    };
    triaged++;
  }
  await em.flush();
  await recordRunStep(deps.orm, runId, 'triage', `${triaged} of ${pending.length} new findings`);
  return { triaged };
}

/**
 * One `security_finding` notification per new or reopened finding that is high/critical by the scanner or by the
 * triage's assessment (the higher counts: `notifySeverity`); keyed on the finding and the run that opened it: a retry
 * notifies nothing twice, a finding reopened by a later run is notified again. A model's verdict never silences one:
 * a finding triaged a false positive is notified all the same, saying so, for a human to judge (the model reads
 * repository content, which may be written to talk it out of a finding).
 */
export async function notifyFindings(orm: MikroORM, findingIds: string[]): Promise<{ notified: number }> {
  const em = orm.em.fork() as EntityManager;
  const fresh = await em.find(Finding, { id: { $in: findingIds }, status: 'open' });
  let notified = 0;
  for (const f of fresh) {
    const severity = notifySeverity(f.severity, f.triage?.severity);
    if (!isSerious(severity)) continue;
    const raised = severity === f.severity ? '' : ` (scanner: ${f.severity}; raised by Guardian's triage)`;
    const doubted =
      f.triage?.verdict === 'false_positive'
        ? ` Guardian's model triaged it a false positive (${f.triage.explanation.slice(0, 300)}): a human should confirm.`
        : '';
    const created = await createNotification(em, {
      kind: 'security_finding',
      title: `${severity === 'critical' ? 'Critical' : 'High'} security finding: ${f.title}`,
      message: `${f.tool} (${f.rule}) in ${f.file ?? 'the repository'}${f.line ? `:${f.line}` : ''}: ${f.message}${raised}${doubted}`,
      priority: severity === 'critical' ? 'critical' : 'high',
      data: {
        findingId: f.id,
        severity,
        scannerSeverity: f.severity,
        triageSeverity: f.triage?.severity ?? null,
        triageVerdict: f.triage?.verdict ?? null,
        file: f.file,
        line: f.line,
        rule: f.rule,
      },
      dedupeKey:
        f.openedRunId === f.firstRunId
          ? `security_finding:${f.id}:${f.firstSeenAt.toISOString()}`
          : `security_finding:${f.id}:reopened:${f.openedRunId}`,
    });
    if (created) notified++;
  }
  return { notified };
}
