export type Severity = 'low' | 'medium' | 'high' | 'critical';

export type ScannerTool = 'secretlint' | 'eslint-security' | 'npm-audit';

export interface RawFinding {
  tool: ScannerTool;
  /** secretlint rule id, ESLint rule id (`security/…`, `lvlup/…`) or npm advisory id. */
  rule: string;
  severity: Severity;
  /** Short human title. */
  title: string;
  /** The tool's message; never a secret's value (secrets are masked). */
  message: string;
  /** Relative to the scanned directory, posix separators. */
  file: string | null;
  line: number | null;
  /** Stable across scans and line shifts (see fingerprint.ts). */
  fingerprint: string;
  data?: Record<string, unknown>;
}

export interface ToolRun {
  tool: ScannerTool;
  status: 'ok' | 'unavailable' | 'error';
  detail: string;
  durationMs: number;
  findings: number;
}

export interface ScanReport {
  findings: RawFinding[];
  tools: ToolRun[];
}

export interface ScanOptions {
  /** Run `npm audit` (needs a package-lock.json and a registry with the audit endpoint). Default true. */
  npmAudit?: boolean;
  /** The registry npm audit asks (never the target's own `.npmrc`). Default https://registry.npmjs.org/. */
  npmRegistry?: string;
  /** Per-tool time limit in milliseconds. Default 60 000. */
  timeoutMs?: number;
}

/** A finding before fingerprinting: `snippet` is what identifies it besides tool, rule and file. */
export interface FindingDraft extends Omit<RawFinding, 'fingerprint'> {
  snippet: string;
}

/** What one tool returns; `unavailable` is a tool that could not run here, not a failure of the scan. */
export interface ToolOutcome {
  status: 'ok' | 'unavailable';
  detail: string;
  findings: FindingDraft[];
}
