import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inspect, isDeepStrictEqual } from 'node:util';
import { deserialize, serialize } from 'node:v8';
import type { HiddenTests } from '../../src/db/entities';
import type { Sandbox, SandboxRunResult } from '../../src/sandbox';
import { HARNESS_FILES, solutionSource, type HarnessRecord } from './code-harness';

export type TestOutcome = { args: unknown[]; expected: unknown; actual?: unknown; passed: boolean; error?: string };

type Returned = { ok: true; actual: unknown } | { ok: false; error: string };

const MAX_OUTPUT_BYTES = 256 * 1024;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * Grades a `code` answer by really running the examiner's hidden tests against it in the sandbox (no network,
 * read-only root, a throw-away work directory, a timeout). The sandbox gets the answer and the cases' arguments only;
 * it returns what the answer's function returned, on lines carrying a random marker made here for this run, and this
 * function compares those values with the expected ones it never let out. Anything but exactly one result per case, in
 * order, fails every case with the reason. Returns one outcome per test case; throws a plain (retried) Error only when
 * the sandbox could not start the answer's process, before any of the answer ran.
 */
export async function runHiddenTests(
  sandbox: Sandbox,
  code: string,
  tests: HiddenTests,
  timeoutMs: number,
): Promise<TestOutcome[]> {
  const failAll = (error: string) =>
    tests.cases.map((c) => ({ args: c.args, expected: c.expected, passed: false, error }));
  if (!IDENTIFIER.test(tests.functionName))
    return failAll(`the hidden tests name no valid function: ${JSON.stringify(tests.functionName)}`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lvlup-exam-'));
  try {
    await writeFile(path.join(dir, 'solution.js'), solutionSource(code, tests.functionName));
    for (const [name, source] of Object.entries(HARNESS_FILES)) await writeFile(path.join(dir, name), source);
    const marker = randomBytes(24).toString('hex');
    const stdin = JSON.stringify({ marker, inputs: tests.cases.map((c) => c.args) });
    const run = await sandbox.run({
      command: process.execPath,
      args: ['harness.js'],
      cwd: dir,
      stdin,
      timeoutMs,
      maxOutputBytes: MAX_OUTPUT_BYTES,
    });
    const returned = readReturnedValues(run, marker, tests.cases.length, timeoutMs);
    if (typeof returned === 'string') return failAll(returned);
    return tests.cases.map((c, i) => outcome(c, returned[i] ?? { ok: false, error: 'no result' }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function outcome(c: HiddenTests['cases'][number], returned: Returned): TestOutcome {
  if (!returned.ok) return { args: c.args, expected: c.expected, passed: false, error: returned.error };
  const passed = isDeepStrictEqual(returned.actual, likeReturned(c.expected));
  return { args: c.args, expected: c.expected, actual: storable(returned.actual), passed };
}

/**
 * `value` as `v8.deserialize` would have built it, so both sides of a comparison come from the same realm (a plain
 * object from another realm, as under jest's vm, has another `Object.prototype` and is never deep-strict-equal).
 */
function likeReturned(value: unknown): unknown {
  return deserialize(serialize(value));
}

/**
 * The values the answer returned, one per case in order, from the run's marked lines; or why there are none. Only
 * lines that start with this run's marker count: `{i: 0} … {i: n-1}` then `{done: n}`, or a `{fault}` from the harness.
 * Throws a plain (retried) Error when the harness could not start the answer's process at all: none of it ran.
 */
export function readReturnedValues(
  run: SandboxRunResult,
  marker: string,
  cases: number,
  timeoutMs: number,
): Returned[] | string {
  if (run.timedOut) return `timed out after ${timeoutMs} ms`;
  if (run.stdoutTruncated) return `the run printed more than ${MAX_OUTPUT_BYTES} bytes`;
  const records: HarnessRecord[] = [];
  for (const line of run.stdout.split('\n')) {
    if (!line.startsWith(`${marker} `)) continue;
    let record: unknown;
    try {
      record = JSON.parse(line.slice(marker.length + 1));
    } catch {
      record = undefined;
    }
    if (record === null || typeof record !== 'object') return 'the harness printed an unreadable result';
    records.push(record as HarnessRecord);
  }
  const broken = records.find((r): r is { broken: string } => 'broken' in r);
  if (broken !== undefined)
    throw new Error(`the code-test harness could not start the answer's process: ${String(broken.broken)}`);
  const fault = records.find((r): r is { fault: string } => 'fault' in r && typeof r.fault === 'string');
  if (fault !== undefined) return fault.fault;
  const last = records[records.length - 1];
  if (records.length !== cases + 1 || last === undefined || !('done' in last) || last.done !== cases) {
    return `the run gave no complete result (exit ${run.exitCode ?? run.signal}): ${run.stderr.slice(0, 500)}`;
  }
  const values: Returned[] = [];
  for (const [i, record] of records.slice(0, cases).entries()) {
    const value = 'i' in record && record.i === i ? decode(record) : undefined;
    if (value === undefined) return `the harness's result ${i + 1} is out of order or unreadable`;
    values.push(value);
  }
  return values;
}

function decode(record: { ok: boolean; value?: string; error?: string }): Returned | undefined {
  if (!record.ok) return typeof record.error === 'string' ? { ok: false, error: record.error } : undefined;
  if (typeof record.value !== 'string') return undefined;
  try {
    return { ok: true, actual: deserialize(Buffer.from(record.value, 'base64')) };
  } catch {
    return undefined;
  }
}

/**
 * What the outcome stores (jsonb, shown in the API) as the returned value: the value itself when JSON holds it
 * exactly (and PostgreSQL can store it), else its `util.inspect` rendering (undefined, NaN, a Map, a BigInt, …).
 */
function storable(value: unknown): unknown {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    json = undefined;
  }
  const exact =
    json !== undefined &&
    !/\\u0000|\\ud[89a-f]/i.test(json) &&
    isDeepStrictEqual(likeReturned(JSON.parse(json)), value);
  return exact ? value : inspect(value, { depth: 5, breakLength: Infinity, maxArrayLength: 50, maxStringLength: 500 });
}
