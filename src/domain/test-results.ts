/**
 * What a target's test run said (ARCHITECTURE §3.4, §3.5): which runner a repository uses, and the pass/fail/skip
 * counts in that runner's default output. Pure: no I/O, safe for workflows. Per-file durations are in test-durations.ts.
 */

export const TEST_RUNNERS = ['node:test', 'mocha', 'jest', 'vitest', 'tap', 'tape', 'unknown'] as const;
export type TestRunner = (typeof TEST_RUNNERS)[number];

/** `skip` counts skipped, pending and todo tests; `tests` = pass + fail + skip. */
export interface TestCounts {
  tests: number;
  pass: number;
  fail: number;
  skip: number;
}

/** The parts of package.json that name a test runner. */
export interface PackageManifest {
  scripts?: Record<string, unknown>;
  dependencies?: Record<string, unknown>;
  devDependencies?: Record<string, unknown>;
}

/** Runner names as they appear as commands in a script, in the order they are tried on a tie. */
const COMMANDS: ReadonlyArray<readonly [Exclude<TestRunner, 'node:test' | 'unknown'>, RegExp]> = [
  ['mocha', /(?:^|[\s;&|()/"'])_?mocha(?=$|[\s;&|()"'])/],
  ['jest', /(?:^|[\s;&|()/"'])jest(?=$|[\s;&|()"'])/],
  ['vitest', /(?:^|[\s;&|()/"'])vitest(?=$|[\s;&|()"'])/],
  ['tap', /(?:^|[\s;&|()/"'])tap(?=$|[\s;&|()"'])/],
  ['tape', /(?:^|[\s;&|()/"'])tape(?=$|[\s;&|()"'])/],
];
const NODE_TEST = /(?:^|[\s;&|()/"'])node(?:\s+--?[\w-]+(?:=\S+)?)*\s+--test(?=$|[\s=;&|)"'])/;
const PACKAGE_SCRIPT = /^\s*(?:npm|pnpm|yarn|bun)\s+(?:(?:run|run-script)\s+)?([\w:.-]+)(?=$|\s)/;

/**
 * The runner behind a test command: `npm test` (or `pnpm`/`yarn`/`bun`, `run <script>`) is read through package.json's
 * scripts; the runner named first in the command wins; with none named, the one runner among the dependencies, else
 * `unknown` (whose output is then recognized by its shape). Never throws.
 */
export function detectRunner(manifest: PackageManifest | null, command: string): TestRunner {
  let text = command;
  for (let depth = 0; depth < 4; depth++) {
    const script = PACKAGE_SCRIPT.exec(text)?.[1];
    const name = script === 't' || script === 'tst' ? 'test' : script;
    const body = name === undefined ? undefined : manifest?.scripts?.[name];
    if (typeof body !== 'string') break;
    text = body;
  }
  const named = runnerNamedIn(text);
  if (named !== undefined) return named;
  const deps = { ...manifest?.dependencies, ...manifest?.devDependencies };
  const installed = COMMANDS.map(([runner]) => runner).filter((runner) => runner in deps);
  return installed.length === 1 && installed[0] !== undefined ? installed[0] : 'unknown';
}

function runnerNamedIn(text: string): TestRunner | undefined {
  const found: Array<{ runner: TestRunner; at: number }> = [];
  const node = NODE_TEST.exec(text);
  if (node !== null) found.push({ runner: 'node:test', at: node.index });
  for (const [runner, pattern] of COMMANDS) {
    const m = pattern.exec(text);
    if (m !== null) found.push({ runner, at: m.index });
  }
  return found.sort((a, b) => a.at - b.at)[0]?.runner;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;

/** Without colour codes and carriage returns, so the summary lines read the same from a TTY-minded runner. */
export function plainText(output: string): string {
  return output.replace(ANSI, '').replace(/\r/g, '');
}

type Parser = (text: string) => TestCounts | null;

const PARSERS: Readonly<Record<Exclude<TestRunner, 'unknown'>, Parser>> = {
  'node:test': parseNodeTest,
  mocha: parseMocha,
  jest: parseJest,
  vitest: parseVitest,
  tap: parseTap,
  tape: parseTap,
};
/** The order shapes are tried in when the runner is unknown or its own shape is absent: most specific first. */
const SHAPES: ReadonlyArray<Exclude<TestRunner, 'unknown'>> = ['jest', 'vitest', 'mocha', 'node:test', 'tap'];

/**
 * Counts from a runner's default output (stdout and stderr together: jest prints its summary on stderr). The given
 * runner's shape is tried first, then every other one; `runner` says which shape matched. Null when none did (the
 * command could not start, or the runner printed nothing countable). Never throws.
 */
export function parseTestCounts(runner: TestRunner, output: string): { runner: TestRunner; counts: TestCounts } | null {
  const text = plainText(output);
  const order = runner === 'unknown' ? SHAPES : [runner, ...SHAPES.filter((s) => s !== runner)];
  for (const shape of order) {
    const counts = PARSERS[shape](text);
    if (counts !== null) return { runner: shape === 'tap' && runner === 'tape' ? 'tape' : shape, counts };
  }
  return null;
}

const counts = (pass: number, fail: number, skip: number): TestCounts => ({
  tests: pass + fail + skip,
  pass,
  fail,
  skip,
});

/** The last match of a global pattern's first group as a number, or null. */
function lastNumber(text: string, pattern: RegExp): number | null {
  const all = [...text.matchAll(pattern)];
  const value = all.at(-1)?.[1];
  return value === undefined ? null : Number(value);
}

/** node:test's reporter summary: `# tests 7 … # pass 4 # fail 1 # cancelled 0 # skipped 1 # todo 1` (TAP, or `ℹ` in spec). */
function parseNodeTest(text: string): TestCounts | null {
  const get = (label: string) => lastNumber(text, new RegExp(`^(?:#|ℹ) ${label} (\\d+)$`, 'gm'));
  const [pass, fail, cancelled, skipped, todo] = ['pass', 'fail', 'cancelled', 'skipped', 'todo'].map(get);
  if (pass === null || pass === undefined || fail === null || fail === undefined) return null;
  // tape prints `# pass` and `# fail` too, never `# cancelled` nor `# skipped`.
  if ((cancelled ?? null) === null && (skipped ?? null) === null) return null;
  return counts(pass, fail + (cancelled ?? 0), (skipped ?? 0) + (todo ?? 0));
}

/** mocha's spec reporter: `  4 passing (138ms)`, `  2 pending`, `  1 failing`. */
function parseMocha(text: string): TestCounts | null {
  const pass = lastNumber(text, /^\s*(\d+) passing\b/gm);
  const fail = lastNumber(text, /^\s*(\d+) failing\s*$/gm);
  const pending = lastNumber(text, /^\s*(\d+) pending\s*$/gm);
  if (pass === null && fail === null) return null;
  return counts(pass ?? 0, fail ?? 0, pending ?? 0);
}

/** The parts of a `1 failed, 1 skipped, 1 todo, 4 passed, 7 total` line by label. */
function labelled(line: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of line.matchAll(/(\d+) ([a-z]+)/g))
    if (m[1] !== undefined && m[2] !== undefined) out[m[2]] = Number(m[1]);
  return out;
}

/** jest's summary: `Tests:       1 failed, 1 skipped, 1 todo, 4 passed, 7 total`. */
function parseJest(text: string): TestCounts | null {
  const line = [...text.matchAll(/^Tests:\s+(.*\d+ total)\s*$/gm)].at(-1)?.[1];
  if (line === undefined) return null;
  const n = labelled(line);
  return counts(n.passed ?? 0, n.failed ?? 0, (n.skipped ?? 0) + (n.todo ?? 0) + (n.pending ?? 0));
}

/** vitest's summary: `      Tests  1 failed | 4 passed | 1 skipped | 1 todo (7)`. */
function parseVitest(text: string): TestCounts | null {
  const line = [...text.matchAll(/^\s*Tests\s{2,}(.*)\(\d+\)\s*$/gm)].at(-1)?.[1];
  if (line === undefined) return null;
  const n = labelled(line);
  return counts(n.passed ?? 0, n.failed ?? 0, (n.skipped ?? 0) + (n.todo ?? 0));
}

/**
 * TAP (tape, node-tap, any TAP producer): node-tap's final `# { total, pass, fail, todo, skip }` when present, else
 * every leaf test point — an `ok`/`not ok` line that closes no indented subtest — with `# SKIP` and `# TODO`
 * directives counted as skipped (a TODO failure is not a failure).
 */
function parseTap(text: string): TestCounts | null {
  const summary = [...text.matchAll(/^# \{ total: \d+(?:, \w+: \d+)* \}$/gm)].at(-1)?.[0];
  if (summary !== undefined) {
    const n: Record<string, number> = {};
    for (const m of summary.matchAll(/(\w+): (\d+)/g))
      if (m[1] !== undefined && m[2] !== undefined) n[m[1]] = Number(m[2]);
    return counts(n.pass ?? 0, n.fail ?? 0, (n.skip ?? 0) + (n.todo ?? 0));
  }
  if (!/^(?:TAP version \d+|\s*1\.\.\d+)\s*$/m.test(text)) return null;
  let pass = 0;
  let fail = 0;
  let skip = 0;
  for (const point of leafPoints(text)) {
    if (/#\s*(?:SKIP|TODO)\b/i.test(point.directive)) skip++;
    else if (point.ok) pass++;
    else fail++;
  }
  return pass + fail + skip === 0 ? null : counts(pass, fail, skip);
}

interface TapPoint {
  ok: boolean;
  indent: number;
  description: string;
  directive: string;
}

/**
 * Every TAP test point with its indentation and whether it is a leaf: a point that closes a subtest follows lines
 * indented deeper than itself (the subtest's own points and plan). YAML diagnostic blocks (`---` … `...`) are skipped.
 */
export function tapPoints(text: string): Array<TapPoint & { leaf: boolean }> {
  const points: Array<TapPoint & { leaf: boolean }> = [];
  let deepestSince = -1;
  let yamlIndent: number | null = null;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const indent = line.length - line.trimStart().length;
    if (yamlIndent !== null) {
      if (indent === yamlIndent && line.trim() === '...') yamlIndent = null;
      continue;
    }
    const last = points.at(-1);
    if (line.trim() === '---' && last !== undefined && indent > last.indent && deepestSince < 0) {
      yamlIndent = indent;
      continue;
    }
    const m = /^\s*(not ok|ok)\b(?:\s+\d+)?(?:\s*-)?\s*([^#]*?)\s*(#.*)?$/.exec(line);
    if (m === null) {
      deepestSince = Math.max(deepestSince, indent);
      continue;
    }
    points.push({
      ok: m[1] === 'ok',
      indent,
      description: (m[2] ?? '').trim(),
      directive: m[3] ?? '',
      leaf: deepestSince <= indent,
    });
    deepestSince = -1;
  }
  return points;
}

function leafPoints(text: string): TapPoint[] {
  return tapPoints(text).filter((p) => p.leaf);
}
