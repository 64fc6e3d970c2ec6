import { plainText, tapPoints, type TestRunner } from './test-results';

/**
 * Per-test-file durations for Conquest when a target has no bench command (ARCHITECTURE §3.5): what to add to the test
 * command so the runner prints a machine-readable report, and how to read each file's time from it. Pure.
 */

export interface FileDuration {
  /** Repository-relative, posix separators. */
  file: string;
  ms: number;
}

/**
 * A node:test reporter (Node ≥ 20) given inline as a data: URL, so nothing outside the workspace has to be readable
 * by the sandboxed run: one JSON line per top-level test with its file and duration.
 */
const NODE_TEST_REPORTER = [
  'export default async function* (source) {',
  '  for await (const event of source) {',
  "    if ((event.type === 'test:pass' || event.type === 'test:fail') && event.data.nesting === 0 && event.data.file) {",
  '      yield JSON.stringify({ lvlupTestFile: event.data.file, ms: event.data.details.duration_ms }) + "\\n";',
  '    }',
  '  }',
  '}',
].join('\n');

/**
 * Arguments appended after `--` to the test command (`npm test -- --reporter json`) for a machine-readable report.
 * node:test takes its reporter from `reporterEnv` instead (an option after a script's file arguments would be read as
 * a file); tape and unknown runners have none, so their files are not timed.
 */
export function reporterArgs(runner: TestRunner): string[] {
  switch (runner) {
    case 'mocha':
      return ['--reporter', 'json'];
    case 'jest':
      return ['--json'];
    case 'vitest':
      return ['--reporter=json'];
    case 'tap':
      return ['--reporter=tap'];
    default:
      return [];
  }
}

/**
 * The test command with its runner's report requested: npm passes a script's extra arguments only after `--`; pnpm,
 * yarn and a runner called directly take them as they are. Unchanged for runners with no report arguments.
 */
export function withReporter(testCmd: string, runner: TestRunner): string {
  const args = reporterArgs(runner);
  if (args.length === 0) return testCmd;
  return `${testCmd}${/^\s*npm\s/.test(testCmd) ? ' --' : ''} ${args.join(' ')}`;
}

/** Environment for the timing run: node:test's reporter through NODE_OPTIONS (where Node accepts `--test-reporter`). */
export function reporterEnv(runner: TestRunner): Record<string, string> {
  if (runner !== 'node:test') return {};
  return { NODE_OPTIONS: `--test-reporter=data:text/javascript,${encodeURIComponent(NODE_TEST_REPORTER)}` };
}

/**
 * Each test file's duration from the report printed with `reporterArgs`/`reporterEnv`: node:test and mocha sum their
 * top-level tests, jest and vitest give each file's start and end, node-tap each file's `# time=`. Paths are made
 * relative to `root` (the directory the tests ran in, as the runner saw it); a file outside it is left out. Sorted by
 * file; empty when the report is missing or unreadable. Never throws.
 */
export function parseFileDurations(runner: TestRunner, stdout: string, root?: string): FileDuration[] {
  const raw = RAW[runner]?.(stdout) ?? [];
  const totals = new Map<string, number>();
  for (const { file, ms } of raw) {
    const relative = relativeTo(file, root);
    if (relative === undefined || !Number.isFinite(ms) || ms < 0) continue;
    totals.set(relative, (totals.get(relative) ?? 0) + ms);
  }
  return [...totals]
    .map(([file, ms]) => ({ file, ms: Math.round(ms * 1000) / 1000 }))
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

const RAW: Partial<Record<TestRunner, (stdout: string) => FileDuration[]>> = {
  'node:test': nodeTestFiles,
  mocha: mochaFiles,
  jest: startEndFiles,
  vitest: startEndFiles,
  tap: tapFiles,
};

function relativeTo(file: string, root: string | undefined): string | undefined {
  let p = file.startsWith('file://') ? safeDecode(file.slice('file://'.length)) : file;
  p = p.replace(/\\/g, '/');
  if (p.startsWith('/')) {
    if (root === undefined) return undefined;
    const base = root.replace(/\\/g, '/').replace(/\/+$/, '');
    if (!p.startsWith(`${base}/`)) return undefined;
    p = p.slice(base.length + 1);
  }
  p = p.replace(/^(\.\/)+/, '');
  return p === '' || p.split('/').includes('..') ? undefined : p;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The first JSON object in `stdout` that starts a line (npm prints its own banner lines first). */
function jsonObject(stdout: string): unknown {
  const text = plainText(stdout);
  for (let at = text.search(/^\{/m); at >= 0; ) {
    const end = text.lastIndexOf('}');
    if (end < at) return undefined;
    try {
      return JSON.parse(text.slice(at, end + 1));
    } catch {
      const next = text.slice(at + 1).search(/^\{/m);
      at = next < 0 ? -1 : at + 1 + next;
    }
  }
  return undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function nodeTestFiles(stdout: string): FileDuration[] {
  const out: FileDuration[] = [];
  for (const line of plainText(stdout).split('\n')) {
    if (!line.startsWith('{"lvlupTestFile":')) continue;
    try {
      const value: unknown = JSON.parse(line);
      if (isRecord(value) && typeof value.lvlupTestFile === 'string' && num(value.ms) !== undefined)
        out.push({ file: value.lvlupTestFile, ms: Number(value.ms) });
    } catch {
      // a truncated line
    }
  }
  return out;
}

/** mocha's json reporter: `tests[]` with `file` and `duration` (absent for pending tests). */
function mochaFiles(stdout: string): FileDuration[] {
  const report = jsonObject(stdout);
  if (!isRecord(report) || !Array.isArray(report.tests)) return [];
  return report.tests.flatMap((t: unknown) =>
    isRecord(t) && typeof t.file === 'string' ? [{ file: t.file, ms: num(t.duration) ?? 0 }] : [],
  );
}

/** jest's `--json` and vitest's json reporter: `testResults[]` with `name` (absolute path), `startTime`, `endTime`. */
function startEndFiles(stdout: string): FileDuration[] {
  const report = jsonObject(stdout);
  if (!isRecord(report) || !Array.isArray(report.testResults)) return [];
  return report.testResults.flatMap((r: unknown) => {
    if (!isRecord(r) || typeof r.name !== 'string') return [];
    const start = num(r.startTime);
    const end = num(r.endTime);
    return start === undefined || end === undefined || end < start ? [] : [{ file: r.name, ms: end - start }];
  });
}

/** node-tap: one top-level point per file, `ok 1 - test/math.js # time=36.011ms`. */
function tapFiles(stdout: string): FileDuration[] {
  return tapPoints(plainText(stdout)).flatMap((p) => {
    const time = /#\s*time=([\d.]+)(ms|s)\b/.exec(p.directive);
    if (p.indent !== 0 || time?.[1] === undefined) return [];
    return [{ file: p.description, ms: Number(time[1]) * (time[2] === 's' ? 1000 : 1) }];
  });
}
