import { performance } from 'node:perf_hooks';
import { scanEslint } from './eslint';
import { walkFiles } from './files';
import { withFingerprints } from './fingerprint';
import { scanNpmAudit } from './npm-audit';
import { scanSecrets } from './secrets';
import type { FindingDraft, RawFinding, ScanOptions, ScanReport, ScannerTool, ToolOutcome, ToolRun } from './types';

export type { RawFinding, ScanOptions, ScanReport, ScannerTool, Severity, ToolRun } from './types';
export { ESLINT_RULES } from './eslint';
export { secretSeverity } from './secrets';

const DEFAULT_TIMEOUT_MS = 60_000;
const SEVERITY_RANK: Readonly<Record<RawFinding['severity'], number>> = { critical: 0, high: 1, medium: 2, low: 3 };

/**
 * Runs Guardian's security scanners over `dir` (a worktree of the target): secretlint, eslint-plugin-security plus
 * lvlup/sql-concatenation, and npm audit (unless `npmAudit: false`). The tools run concurrently; each one's failure
 * becomes its ToolRun (`error`, or `unavailable` when it cannot run here) and never stops the others, so this does
 * not throw for a tool. No tool executes target code: the target's own ESLint config is never loaded.
 */
export async function runSecurityScanners(dir: string, opts: ScanOptions = {}): Promise<ScanReport> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // One walk for both file scanners; a failed walk becomes each one's error.
  const walk = walkFiles(dir);
  const runs = await Promise.all([
    runTool('secretlint', () => scanSecrets(walk, timeoutMs)),
    runTool('eslint-security', () => scanEslint(dir, walk, timeoutMs)),
    runTool('npm-audit', () =>
      opts.npmAudit === false
        ? Promise.resolve({ status: 'unavailable', detail: 'disabled', findings: [] })
        : scanNpmAudit(dir, timeoutMs, opts.npmRegistry),
    ),
  ]);
  const findings = withFingerprints(runs.flatMap((r) => r.drafts)).sort(byLocation);
  return { findings, tools: runs.map((r) => r.run) };
}

async function runTool(
  tool: ScannerTool,
  scan: () => Promise<ToolOutcome>,
): Promise<{ run: ToolRun; drafts: FindingDraft[] }> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  try {
    const outcome = await scan();
    const drafts = [...outcome.findings].sort(byLocation);
    return {
      run: { tool, status: outcome.status, detail: outcome.detail, durationMs: elapsed(), findings: drafts.length },
      drafts,
    };
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    return { run: { tool, status: 'error', detail, durationMs: elapsed(), findings: 0 }, drafts: [] };
  }
}

/** Tool, file, line, column order: fingerprint occurrences and report order then do not depend on tool timing. */
function byLocation(a: FindingDraft | RawFinding, b: FindingDraft | RawFinding): number {
  return (
    a.tool.localeCompare(b.tool) ||
    (a.file ?? '').localeCompare(b.file ?? '') ||
    (a.line ?? 0) - (b.line ?? 0) ||
    column(a) - column(b) ||
    SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
    a.rule.localeCompare(b.rule)
  );
}

function column(f: FindingDraft | RawFinding): number {
  const value = f.data?.column;
  return typeof value === 'number' ? value : 0;
}
