import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { ESLint, type Linter } from 'eslint';
import pluginSecurity from 'eslint-plugin-security';
import type { FileWalk } from './files';
import { lineAt } from './fingerprint';
import { sqlConcatenationRule } from './sql-rule';
import type { FindingDraft, Severity, ToolOutcome } from './types';

const JS_FILES = ['**/*.{js,cjs,mjs}'];
const JS_EXTENSION = /\.[cm]?js$/;

/**
 * Severity and title per rule. `high`: code or command execution, file-system or module paths from input, SQL
 * injection, Trojan Source; `low`: detect-object-injection (mostly array indexing: noisy); anything not listed (a rule
 * added by a plugin update) is `medium`, titled by its id.
 */
export const ESLINT_RULES: Readonly<Record<string, { severity: Severity; title: string }>> = {
  'security/detect-child-process': { severity: 'high', title: 'Child process call (command injection risk)' },
  'security/detect-eval-with-expression': { severity: 'high', title: 'eval() of an expression (code injection)' },
  'security/detect-non-literal-require': { severity: 'high', title: 'require() of a non-literal path' },
  'security/detect-non-literal-fs-filename': {
    severity: 'high',
    title: 'File-system path from a non-literal (path traversal)',
  },
  'security/detect-bidi-characters': { severity: 'high', title: 'Bidirectional control characters (Trojan Source)' },
  'lvlup/sql-concatenation': { severity: 'high', title: 'SQL built from non-literal values (SQL injection)' },
  'security/detect-unsafe-regex': { severity: 'medium', title: 'Regular expression open to ReDoS' },
  'security/detect-non-literal-regexp': { severity: 'medium', title: 'RegExp from a non-literal (ReDoS)' },
  'security/detect-possible-timing-attacks': { severity: 'medium', title: 'Comparison open to a timing attack' },
  'security/detect-pseudoRandomBytes': {
    severity: 'medium',
    title: 'crypto.pseudoRandomBytes (not cryptographically secure)',
  },
  'security/detect-no-csrf-before-method-override': {
    severity: 'medium',
    title: 'CSRF check bypassable by methodOverride',
  },
  'security/detect-buffer-noassert': { severity: 'medium', title: 'Buffer read/write with noAssert' },
  'security/detect-new-buffer': { severity: 'medium', title: 'new Buffer() from a non-literal' },
  'security/detect-disable-mustache-escape': { severity: 'medium', title: 'Template escaping disabled (XSS)' },
  'security/detect-invisible-characters': { severity: 'medium', title: 'Invisible characters in source' },
  'security/detect-object-injection': {
    severity: 'low',
    title: 'Bracket access with a variable key (object injection)',
  },
};

/**
 * Our own flat config, used instead of anything in the target (its eslint.config.* is target-controlled code and is
 * never loaded). Inline `eslint-disable` comments are ignored too, so the target cannot hide its own findings.
 */
function scannerConfig(): Linter.Config[] {
  return [
    { ignores: ['**/node_modules/**', '**/*.min.js'] },
    { ...pluginSecurity.configs.recommended, files: JS_FILES },
    {
      files: JS_FILES,
      plugins: { lvlup: { rules: { 'sql-concatenation': sqlConcatenationRule } } },
      rules: { 'lvlup/sql-concatenation': 'warn' },
    },
  ];
}

/**
 * Lints the JavaScript under `dir` with eslint-plugin-security's recommended rules and lvlup/sql-concatenation.
 * Files come from the shared walk (see files.ts) and go through `lintText`: ESLint's own file search imports an ES
 * module at run time, which jest's CommonJS runtime cannot do, and one walk keeps both scanners on the same files.
 * Throws when ESLint cannot run or takes longer than `timeoutMs` (checked between files).
 */
export async function scanEslint(dir: string, walk: Promise<FileWalk>, timeoutMs: number): Promise<ToolOutcome> {
  const deadline = performance.now() + timeoutMs;
  const eslint = new ESLint({
    cwd: dir,
    overrideConfigFile: true,
    overrideConfig: scannerConfig(),
    allowInlineConfig: false,
    warnIgnored: false,
  });
  const { files } = await walk;
  const findings: FindingDraft[] = [];
  let linted = 0;
  let unparsable = 0;
  for (const file of files.filter((f) => JS_EXTENSION.test(f.relative))) {
    if (performance.now() > deadline)
      throw new Error(`eslint timed out after ${timeoutMs} ms (${linted} files linted)`);
    const source = await readFile(file.absolute, 'utf8');
    if (source.includes('\0')) continue;
    for (const result of await eslint.lintText(source, { filePath: file.absolute })) {
      linted += 1;
      if (result.fatalErrorCount > 0) unparsable += 1;
      for (const m of result.messages) if (m.ruleId !== null) findings.push(toDraft(m, file.relative, source));
    }
  }
  const detail = `linted ${linted} files${unparsable > 0 ? `, ${unparsable} could not be parsed` : ''}`;
  return { status: 'ok', detail, findings };
}

function toDraft(m: Linter.LintMessage, file: string, source: string): FindingDraft {
  const rule = m.ruleId ?? 'unknown';
  const known = ESLINT_RULES[rule];
  return {
    tool: 'eslint-security',
    rule,
    severity: known?.severity ?? 'medium',
    title: known?.title ?? rule,
    message: m.message,
    file,
    line: m.line,
    snippet: lineAt(source, m.line),
    data: { column: m.column },
  };
}
