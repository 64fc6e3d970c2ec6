import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, lstat, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { FindingDraft, Severity, ToolOutcome } from './types';

/** npm's severities onto ours: `moderate` is medium, `info` is low. */
const NPM_SEVERITY: Readonly<Record<string, Severity>> = {
  critical: 'critical',
  high: 'high',
  moderate: 'medium',
  low: 'low',
  info: 'low',
};

/** An npm error that means "the registry cannot audit from here", not a defect of the scan. */
const UNREACHABLE =
  /E(NOTFOUND|AI_AGAIN|CONNREFUSED|CONNRESET|TIMEDOUT|NETUNREACH|HOSTUNREACH)|socket hang up|network|certificate|Not Found|Method Not Allowed|Not Implemented|audit endpoint/i;

const advisory = z.object({
  source: z.union([z.number(), z.string()]),
  name: z.string(),
  title: z.string(),
  url: z.string().optional(),
  severity: z.string(),
  range: z.string().optional(),
  cwe: z.array(z.string()).optional(),
  cvss: z.object({ score: z.number().optional() }).optional(),
});
const auditReport = z.object({
  vulnerabilities: z.record(
    z.string(),
    z.object({
      name: z.string(),
      isDirect: z.boolean().optional(),
      via: z.array(z.union([z.string(), advisory])),
      fixAvailable: z.unknown(),
    }),
  ),
});
const auditError = z.object({
  message: z.string().optional(),
  statusCode: z.number().optional(),
  error: z
    .object({ code: z.string().nullish(), summary: z.string().nullish(), detail: z.string().nullish() })
    .optional(),
});

interface NpmRun {
  stdout: string;
  stderr: string;
  error: (Error & { code?: string | number | null; killed?: boolean }) | null;
}

/** The public registry: npm audit asks it unless the operator names another (TARGET_NPM_REGISTRY). */
export const DEFAULT_NPM_REGISTRY = 'https://registry.npmjs.org/';

/** The only files of the target npm audit sees: never its `.npmrc`, never anything it could run. */
const AUDITED_FILES = ['package.json', 'package-lock.json'] as const;

/**
 * `npm audit --json --omit=dev` for the manifest and lockfile in `dir`, one finding per advisory. npm never runs in the
 * target's tree nor with the worker's environment: both files are copied to a fresh temporary directory where npm runs
 * with PATH alone, HOME there, empty user and global configs and `registry` explicit, so a target's `.npmrc` (or the
 * worker's npm settings and secrets) can neither redirect the request nor put a credential in it. `unavailable`
 * (never a throw) without a package-lock.json, without npm, on timeout, or when the registry cannot be reached or does
 * not implement the audit endpoint. Throws for a manifest or lockfile that is not a regular file (a symlink out of the
 * worktree) and for output it cannot understand.
 */
export async function scanNpmAudit(
  dir: string,
  timeoutMs: number,
  registry: string = DEFAULT_NPM_REGISTRY,
): Promise<ToolOutcome> {
  if (!existsSync(path.join(dir, 'package-lock.json'))) return unavailable('no package-lock.json');
  const run = await inCleanDirectory(dir, (clean) => runNpmAudit(clean, timeoutMs, registry));
  if (run.error?.code === 'ENOENT') return unavailable('npm is not installed');
  if (run.error?.killed === true) return unavailable(`npm audit timed out after ${timeoutMs} ms`);
  const json = parseJson(run.stdout);
  const report = auditReport.safeParse(json);
  if (report.success) {
    const findings = Object.values(report.data.vulnerabilities).flatMap((v) =>
      toDrafts(v.via, v.isDirect, v.fixAvailable),
    );
    return {
      status: 'ok',
      detail: `${findings.length} advisories in ${Object.keys(report.data.vulnerabilities).length} vulnerable packages`,
      findings,
    };
  }
  const failure = auditError.safeParse(json);
  const reason = failure.success ? describe(failure.data) : '';
  const text = `${reason} ${run.stderr}`;
  if ((failure.success && failure.data.statusCode !== undefined) || UNREACHABLE.test(text)) {
    return unavailable(`registry cannot audit: ${reason || lastLine(run.stderr)}`);
  }
  throw new Error(`npm audit failed: ${reason || lastLine(run.stderr) || run.error?.message || 'no JSON output'}`);
}

function unavailable(detail: string): ToolOutcome {
  return { status: 'unavailable', detail, findings: [] };
}

/** Copies the manifest and lockfile (regular files only) to a fresh directory, runs `work` there, then removes it. */
async function inCleanDirectory<T>(dir: string, work: (clean: string) => Promise<T>): Promise<T> {
  const clean = await mkdtemp(path.join(os.tmpdir(), 'lvlup-npm-audit-'));
  try {
    for (const name of AUDITED_FILES) {
      const source = path.join(dir, name);
      const info = await lstat(source).catch(() => undefined);
      if (info === undefined) continue;
      if (!info.isFile()) throw new Error(`npm audit: ${name} is not a regular file`);
      await copyFile(source, path.join(clean, name));
    }
    await writeFile(path.join(clean, '.user-npmrc'), '');
    await writeFile(path.join(clean, '.global-npmrc'), '');
    return await work(clean);
  } finally {
    await rm(clean, { recursive: true, force: true });
  }
}

/** PATH (with this node first, so `npm` finds it) and npm's own settings pointing inside `clean`; nothing else. */
function npmEnv(clean: string): NodeJS.ProcessEnv {
  return {
    PATH: [path.dirname(process.execPath), process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'].join(path.delimiter),
    HOME: clean,
    npm_config_userconfig: path.join(clean, '.user-npmrc'),
    npm_config_globalconfig: path.join(clean, '.global-npmrc'),
    npm_config_cache: path.join(clean, '.npm-cache'),
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
  };
}

function runNpmAudit(clean: string, timeoutMs: number, registry: string): Promise<NpmRun> {
  const args = ['audit', '--json', '--omit=dev', '--registry', registry];
  return new Promise((resolve) => {
    execFile(
      'npm',
      args,
      { cwd: clean, env: npmEnv(clean), timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ error, stdout, stderr }),
    );
  });
}

function toDrafts(
  via: z.infer<typeof auditReport>['vulnerabilities'][string]['via'],
  isDirect: boolean | undefined,
  fixAvailable: unknown,
): FindingDraft[] {
  // A string in `via` names another vulnerable package, whose own entry carries the advisory.
  return via.flatMap((a) => {
    if (typeof a === 'string') return [];
    const snippet = `${a.name}@${a.range ?? '*'}`;
    return [
      {
        tool: 'npm-audit' as const,
        rule: String(a.source),
        severity: NPM_SEVERITY[a.severity] ?? 'medium',
        title: a.title,
        message: `${snippet}: ${a.title}${a.url === undefined ? '' : ` (${a.url})`}`,
        file: 'package-lock.json',
        line: null,
        snippet,
        data: { package: a.name, range: a.range, url: a.url, cwe: a.cwe, cvss: a.cvss?.score, isDirect, fixAvailable },
      },
    ];
  });
}

function describe(e: z.infer<typeof auditError>): string {
  return [e.error?.code, e.message ?? e.error?.summary]
    .filter((s) => s !== undefined && s !== null && s !== '')
    .join(': ');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop() ?? '';
}
