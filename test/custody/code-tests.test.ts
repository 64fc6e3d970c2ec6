import { serialize } from 'node:v8';
import { readReturnedValues, runHiddenTests } from '../../activities/custody/code-tests';
import type { HiddenTests } from '../../src/db/entities';
import { codeItemScore } from '../../src/domain/custody';
import { createSandbox, type Sandbox, type SandboxIsolation, type SandboxRunResult } from '../../src/sandbox';
import { BOGUS_BWRAP, BWRAP_WORKS, logger } from '../sandbox/support';

const MODES: SandboxIsolation[] = BWRAP_WORKS ? ['bwrap', 'process'] : ['process'];

const ADD: HiddenTests = {
  functionName: 'add',
  cases: [
    { args: [1, 2], expected: 3 },
    { args: [2, 2], expected: 4 },
    { args: [-1, 1], expected: 0 },
  ],
};

/** Answers that try to score without computing anything; each scored full marks against the harness before issue 15. */
const FORGERIES: Array<[string, string]> = [
  [
    'prints a results line in the format the harness used and exits',
    `console.log(JSON.stringify({ results: [{ passed: true }, { passed: true }, { passed: true }] })); process.exit(0);
     function add() {}`,
  ],
  [
    'returns the expected values it reads from cases.json beside it',
    `const cases = require('./cases.json'); let k = 0;
     function add() { return cases[k++].expected; }`,
  ],
  [
    'returns the expected values it finds in any file, its stdin or its environment',
    `const fs = require('fs'); let found = [];
     const look = (text) => { try { const d = JSON.parse(text); const list = Array.isArray(d) ? d : d.cases || d.inputs || [];
       if (list.some((c) => c && 'expected' in c)) found = list.map((c) => c.expected); } catch {} };
     for (const f of fs.readdirSync('.')) { try { look(fs.readFileSync(f, 'utf8')); } catch {} }
     try { look(fs.readFileSync(0, 'utf8')); } catch {}
     for (const v of Object.values(process.env)) look(v);
     let k = 0; function add() { return found[k++]; }`,
  ],
  [
    "rewrites the harness's output as it is printed (console.log and stdout.write patched)",
    `const log = console.log; const write = process.stdout.write.bind(process.stdout);
     const fix = (s) => String(s).replace(/"passed":false/g, '"passed":true');
     console.log = (s, ...rest) => log(fix(s), ...rest); process.stdout.write = (s, ...rest) => write(fix(s), ...rest);
     function add(a, b) { return a - b; }`,
  ],
  [
    "writes result lines that claim the right values into its own and its parent's stdout, then exits",
    `const fs = require('fs'); const v8 = require('v8');
     const line = (r) => 'f'.repeat(48) + ' ' + JSON.stringify(r) + '\\n';
     const out = [3, 4, 0].map((v, i) => line({ i, ok: true, value: v8.serialize(v).toString('base64') })).join('') + line({ done: 3 })
       + JSON.stringify({ results: [{ passed: true }, { passed: true }, { passed: true }] }) + '\\n';
     try { fs.appendFileSync('/proc/' + process.ppid + '/fd/1', out); } catch {}
     fs.writeSync(1, out);
     process.exit(0);
     function add() {}`,
  ],
];

describe.each(MODES)('code items graded in %s mode', (mode) => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await createSandbox({
      requireIsolation: false,
      logger,
      bwrapPath: mode === 'bwrap' ? undefined : BOGUS_BWRAP,
    });
  });
  const grade = async (code: string, tests: HiddenTests = ADD) => {
    const outcomes = await runHiddenTests(sandbox, code, tests, 20_000);
    return { outcomes, score: codeItemScore(outcomes.filter((o) => o.passed).length, outcomes.length) };
  };

  it('gives an honest correct answer full marks and stores what it returned', async () => {
    const { outcomes, score } = await grade('function add(a, b) { return a + b; }');
    expect(score).toBe(100);
    expect(outcomes).toEqual(
      ADD.cases.map((c) => ({ args: c.args, expected: c.expected, actual: c.expected, passed: true })),
    );
  });

  it('grades an async answer and one exported through module.exports', async () => {
    expect((await grade('async function add(a, b) { return a + b; }')).score).toBe(100);
    expect((await grade('module.exports.add = (a, b) => a + b;')).score).toBe(100);
  });

  it('gives a wrong answer 0 and a partly right one its share', async () => {
    const wrong = await grade('function add(a, b) { return a - b; }');
    expect(wrong.score).toBe(0);
    expect(wrong.outcomes.map((o) => o.actual)).toEqual([-1, 0, -2]);
    const partial = await grade(
      'function add(a, b) { if (a < 0) throw new Error("negative"); return a === b ? 5 : a + b; }',
    );
    expect(partial.score).toBe(33.33);
    expect(partial.outcomes.map((o) => [o.passed, o.error])).toEqual([
      [true, undefined],
      [false, undefined],
      [false, 'negative'],
    ]);
  });

  it('compares the returned values exactly: no JSON coercion of undefined, NaN, -0, a Map or a Date', async () => {
    const tests: HiddenTests = {
      functionName: 'f',
      cases: [
        { args: ['undefined'], expected: null },
        { args: ['nan'], expected: null },
        { args: ['minusZero'], expected: 0 },
        { args: ['map'], expected: {} },
        { args: ['date'], expected: '2020-01-01T00:00:00.000Z' },
        { args: ['plain'], expected: { a: [1, 'x', null] } },
      ],
    };
    const code = `function f(kind) {
      return { undefined: undefined, nan: NaN, minusZero: -0, map: new Map([[1, 2]]), date: new Date(0 + Date.UTC(2020, 0, 1)), plain: { a: [1, 'x', null] } }[kind];
    }`;
    const { outcomes } = await grade(code, tests);
    expect(outcomes.map((o) => o.passed)).toEqual([false, false, false, false, false, true]);
    expect(outcomes.map((o) => o.actual)).toEqual([
      'undefined',
      'NaN',
      '-0',
      'Map(1) { 1 => 2 }',
      '2020-01-01T00:00:00.000Z',
      { a: [1, 'x', null] },
    ]);
  });

  it('fails every case with the reason when the answer does not load or does not define the function', async () => {
    const broken = await grade('function add(a, b) { return a +; }');
    expect(broken.score).toBe(0);
    expect(broken.outcomes[0]?.error).toMatch(/^the answer did not load: /);
    const missing = await grade('function sum(a, b) { return a + b; }');
    expect(missing.outcomes.map((o) => o.error)).toEqual(
      Array(3).fill('the answer did not load: the answer does not define the requested function'),
    );
  });

  it('fails every case when the answer ends its process midway, even after right answers', async () => {
    const { outcomes, score } = await grade(
      'let k = 0; function add(a, b) { if (++k === 2) process.exit(0); return a + b; }',
    );
    expect(score).toBe(0);
    expect(outcomes.map((o) => o.error)).toEqual(
      Array(3).fill("the answer's process ended (exit 0) before case 2 returned"),
    );
  });

  it('reads the results of an answer that leaves a process of its own running, without waiting for it', async () => {
    const code = `require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'inherit' });
      function add(a, b) { return a + b; }`;
    const started = Date.now();
    expect((await grade(code)).score).toBe(100);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it.each(FORGERIES)('scores 0 for an answer that %s', async (_label, code) => {
    const { outcomes, score } = await grade(code);
    expect(score).toBe(0);
    expect(outcomes.every((o) => !o.passed)).toBe(true);
  });
});

describe('reading the harness output', () => {
  const MARKER = 'a1'.repeat(24);
  const value = (v: unknown) => serialize(v).toString('base64');
  const marked = (...records: unknown[]) => records.map((r) => `${MARKER} ${JSON.stringify(r)}`);
  const ran = (lines: string[], extra: Partial<SandboxRunResult> = {}): SandboxRunResult => ({
    exitCode: 0,
    signal: null,
    timedOut: false,
    stdout: lines.map((l) => `${l}\n`).join(''),
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    durationMs: 1,
    isolation: 'process',
    ...extra,
  });
  const read = (lines: string[], extra?: Partial<SandboxRunResult>) =>
    readReturnedValues(ran(lines, extra), MARKER, 2, 1000);

  it('takes exactly one result per case in order, then done, and ignores every line without the marker', () => {
    const lines = [
      '{"results":[{"passed":true}]}',
      `${'b2'.repeat(24)} {"i":0,"ok":true}`,
      ...marked({ i: 0, ok: true, value: value(3) }, { i: 1, ok: false, error: 'boom' }, { done: 2 }),
    ];
    expect(read(lines)).toEqual([
      { ok: true, actual: 3 },
      { ok: false, error: 'boom' },
    ]);
  });

  it.each([
    ['a missing result', marked({ i: 0, ok: true, value: value(3) }, { done: 2 })],
    [
      'an extra result',
      marked(
        { i: 0, ok: true, value: value(3) },
        { i: 1, ok: true, value: value(4) },
        { i: 2, ok: true, value: value(5) },
        { done: 2 },
      ),
    ],
    [
      'a duplicate index',
      marked({ i: 0, ok: true, value: value(3) }, { i: 0, ok: true, value: value(3) }, { done: 2 }),
    ],
    [
      'results out of order',
      marked({ i: 1, ok: true, value: value(4) }, { i: 0, ok: true, value: value(3) }, { done: 2 }),
    ],
    ['no done line', marked({ i: 0, ok: true, value: value(3) }, { i: 1, ok: true, value: value(4) })],
    ['an undecodable value', marked({ i: 0, ok: true, value: '!!' }, { i: 1, ok: true, value: value(4) }, { done: 2 })],
    ['only forged lines without the marker', ['x {"i":0,"ok":true}', '{"done":2}']],
  ])('refuses the whole run for %s', (_label, lines) => {
    expect(read(lines)).toEqual(expect.any(String));
  });

  it('reports the harness fault, the timeout and an output cut at its cap as the reason; a process that never started is retried', () => {
    expect(read(marked({ i: 0, ok: true, value: value(3) }, { fault: 'the answer did not load: x' }))).toBe(
      'the answer did not load: x',
    );
    expect(read([], { timedOut: true })).toBe('timed out after 1000 ms');
    expect(() => read(marked({ broken: 'spawn EAGAIN' }))).toThrow(
      "the code-test harness could not start the answer's process: spawn EAGAIN",
    );
    expect(
      read(marked({ i: 0, ok: true, value: value(3) }, { i: 1, ok: true, value: value(4) }, { done: 2 }), {
        stdoutTruncated: true,
      }),
    ).toMatch(/more than/);
  });
});
