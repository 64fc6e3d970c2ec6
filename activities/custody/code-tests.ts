import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { HiddenTests } from '../../src/db/entities';
import type { Sandbox } from '../../src/sandbox';

export type TestOutcome = { args: unknown[]; expected: unknown; actual?: unknown; passed: boolean; error?: string };

// Runs inside the sandbox: loads the answer, calls the function on each case, prints one JSON line.
const HARNESS = `
const { isDeepStrictEqual } = require('node:util');
const cases = require('./cases.json');
(async () => {
  let fn;
  try { fn = require('./solution.js').__lvlupFn; } catch (e) { console.log(JSON.stringify({ loadError: String(e && e.message || e) })); return; }
  if (typeof fn !== 'function') { console.log(JSON.stringify({ loadError: 'the answer does not define the requested function' })); return; }
  const results = [];
  for (const c of cases) {
    try { const actual = await fn(...c.args); results.push({ passed: isDeepStrictEqual(actual, c.expected), actual }); }
    catch (e) { results.push({ passed: false, error: String(e && e.message || e) }); }
  }
  console.log(JSON.stringify({ results }));
})();
`;

/**
 * Grades a `code` answer by really running the examiner's hidden tests against it in the sandbox (no network,
 * read-only root, a throw-away work directory, a timeout). Returns one outcome per test case.
 */
export async function runHiddenTests(sandbox: Sandbox, code: string, tests: HiddenTests, timeoutMs: number): Promise<TestOutcome[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lvlup-exam-'));
  try {
    const name = tests.functionName;
    await writeFile(
      path.join(dir, 'solution.js'),
      `${code}\n;module.exports.__lvlupFn = typeof ${name} === 'function' ? ${name} : (module.exports && module.exports.${name});\n`,
    );
    await writeFile(path.join(dir, 'cases.json'), JSON.stringify(tests.cases));
    await writeFile(path.join(dir, 'harness.js'), HARNESS);
    const run = await sandbox.run({ command: process.execPath, args: ['harness.js'], cwd: dir, timeoutMs, maxOutputBytes: 256 * 1024 });
    const failAll = (error: string) => tests.cases.map((c) => ({ args: c.args, expected: c.expected, passed: false, error }));
    if (run.timedOut) return failAll(`timed out after ${timeoutMs} ms`);
    const line = run.stdout.trim().split('\n').pop() ?? '';
    let parsed: { loadError?: string; results?: Array<{ passed: boolean; actual?: unknown; error?: string }> };
    try {
      parsed = JSON.parse(line) as typeof parsed;
    } catch {
      return failAll(`the run printed no result (exit ${run.exitCode ?? run.signal}): ${run.stderr.slice(0, 500)}`);
    }
    if (parsed.loadError !== undefined || parsed.results === undefined) return failAll(parsed.loadError ?? 'no results');
    return tests.cases.map((c, i) => ({ args: c.args, expected: c.expected, ...(parsed.results?.[i] ?? { passed: false, error: 'no result' }) }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
