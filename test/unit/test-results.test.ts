import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseFileDurations, reporterArgs, reporterEnv } from '../../src/domain/test-durations';
import { detectRunner, parseTestCounts } from '../../src/domain/test-results';
import { summarize } from '../../activities/experiments/run';

/**
 * Outputs captured from the real runners (node 20 `node --test`, mocha 11, jest 30, vitest 3, tape 5, tap 21) through
 * `npm test` on the same suite of two files: 7 tests, 4 pass, 1 fails, 2 skipped/pending/todo, one test taking ~120 ms
 * in test/strings*. Each `*.report.stdout` is `npm test -- <reporterArgs>` with `reporterEnv`. Captured under /tmp/cap.
 */
const FIXTURES = path.resolve(__dirname, '../fixtures/runner-output');
const read = (name: string): string =>
  existsSync(path.join(FIXTURES, name)) ? readFileSync(path.join(FIXTURES, name), 'utf8') : '';
const output = (name: string): string => `${read(`${name}.stdout`)}\n${read(`${name}.stderr`)}`;

describe('detectRunner', () => {
  it.each([
    ['node --test', 'node:test'],
    ['node --experimental-test-coverage --test test/', 'node:test'],
    ['mocha', 'mocha'],
    ['nyc --reporter=lcov mocha --recursive', 'mocha'],
    ['c8 ./node_modules/.bin/_mocha test/**/*.spec.js', 'mocha'],
    ['jest --coverage', 'jest'],
    ['cross-env NODE_ENV=test jest', 'jest'],
    ['vitest run', 'vitest'],
    ['tap test/*.js', 'tap'],
    ['tape test/*.js | tap-spec', 'tape'],
    ['eslint . && mocha', 'mocha'],
  ])('reads `npm test` = %s as %s', (script, runner) => {
    expect(detectRunner({ scripts: { test: script } }, 'npm test')).toBe(runner);
  });

  it('follows npm/pnpm/yarn run to the named script, and a script that runs another', () => {
    const manifest = { scripts: { test: 'npm run test:unit', 'test:unit': 'vitest run', bench: 'node bench.js' } };
    expect(detectRunner(manifest, 'npm test')).toBe('vitest');
    expect(detectRunner(manifest, 'pnpm run test:unit')).toBe('vitest');
    expect(detectRunner(manifest, 'yarn test')).toBe('vitest');
    expect(detectRunner(manifest, 'npm t')).toBe('vitest');
  });

  it('reads a direct command without package.json', () => {
    expect(detectRunner(null, 'npx mocha --recursive')).toBe('mocha');
    expect(detectRunner(null, 'node --test')).toBe('node:test');
  });

  it('falls back to the one runner among the dependencies, else unknown', () => {
    expect(
      detectRunner(
        { scripts: { test: 'make test' }, devDependencies: { mocha: '^11.0.0', chai: '^5.0.0' } },
        'npm test',
      ),
    ).toBe('mocha');
    expect(
      detectRunner(
        { scripts: { test: 'make test' }, devDependencies: { mocha: '^11.0.0', jest: '^30.0.0' } },
        'npm test',
      ),
    ).toBe('unknown');
    expect(detectRunner({}, 'npm test')).toBe('unknown');
    // Words that merely contain a runner's name are not the runner.
    expect(detectRunner({ scripts: { test: 'mochawesome-merge && tapestry && --reporter=tap' } }, 'npm test')).toBe(
      'unknown',
    );
  });
});

describe('parseTestCounts on real runner output', () => {
  const expected = { tests: 7, pass: 4, fail: 1, skip: 2 };

  it.each([
    ['node:test', 'nt'],
    ['node:test', 'nt-spec'],
    ['mocha', 'mo'],
    ['jest', 'je'],
    ['vitest', 'vi'],
    ['tap', 'ta'],
  ] as const)('%s (%s)', (runner, name) => {
    expect(parseTestCounts(runner, output(name))).toEqual({ runner, counts: expected });
  });

  it.each([
    ['node:test', 'nt'],
    ['mocha', 'mo'],
    ['jest', 'je'],
    ['vitest', 'vi'],
    ['tap', 'ta'],
  ] as const)('recognizes %s by its output alone when the runner is unknown', (runner, name) => {
    expect(parseTestCounts('unknown', output(name))).toEqual({ runner, counts: expected });
  });

  it('tape: counts TAP assertions, a `# SKIP` one as skipped (tape itself counts it as a pass)', () => {
    // tape prints `# tests 5 / # pass 4 / # fail 1`; the points are 3 ok, 1 ok # SKIP, 1 not ok.
    expect(parseTestCounts('tape', output('tp'))).toEqual({
      runner: 'tape',
      counts: { tests: 5, pass: 3, fail: 1, skip: 1 },
    });
    expect(parseTestCounts('unknown', output('tp'))).toEqual({
      runner: 'tap',
      counts: { tests: 5, pass: 3, fail: 1, skip: 1 },
    });
  });

  it('counts only leaf points of nested TAP, and a failing TODO as skipped', () => {
    const tap = [
      'TAP version 14',
      '# Subtest: a',
      '    ok 1 - x',
      '    not ok 2 - y # TODO later',
      '    1..2',
      'ok 1 - a',
      'not ok 2 - b',
      '  ---',
      '  at: here',
      '  ...',
      'ok 3 - c # SKIP',
      '1..3',
    ].join('\n');
    expect(parseTestCounts('tap', tap)).toEqual({ runner: 'tap', counts: { tests: 4, pass: 1, fail: 1, skip: 2 } });
  });

  it('strips colour codes (a runner that thinks it has a TTY)', () => {
    const colored =
      '\u001b[2m      Tests \u001b[22m \u001b[1m\u001b[31m2 failed\u001b[39m\u001b[22m\u001b[2m | \u001b[22m\u001b[1m\u001b[32m10 passed\u001b[39m\u001b[22m\u001b[90m (12)\u001b[39m\n';
    expect(parseTestCounts('vitest', colored)).toEqual({
      runner: 'vitest',
      counts: { tests: 12, pass: 10, fail: 2, skip: 0 },
    });
  });

  it('returns null when nothing countable was printed (a command that could not start)', () => {
    expect(parseTestCounts('mocha', '\n> test\n> mocha\n\nsh: 1: mocha: not found\n')).toBeNull();
    expect(parseTestCounts('unknown', '')).toBeNull();
  });
});

describe('per-file durations from the machine-readable reporters', () => {
  it('asks each runner for its machine-readable report', () => {
    expect(reporterArgs('mocha')).toEqual(['--reporter', 'json']);
    expect(reporterArgs('jest')).toEqual(['--json']);
    expect(reporterArgs('vitest')).toEqual(['--reporter=json']);
    expect(reporterArgs('tap')).toEqual(['--reporter=tap']);
    expect(reporterArgs('node:test')).toEqual([]);
    expect(reporterEnv('node:test').NODE_OPTIONS).toMatch(/^--test-reporter=data:text\/javascript,[^\s]+$/);
    expect(reporterEnv('mocha')).toEqual({});
    expect(reporterArgs('tape')).toEqual([]);
  });

  it.each([
    ['node:test', 'nt', '/tmp/cap/nt', '.test.js'],
    ['mocha', 'mo', '/tmp/cap/mo', '.test.js'],
    ['jest', 'je', '/tmp/cap/je', '.test.js'],
    ['vitest', 'vi', '/tmp/cap/vi', '.test.js'],
    ['tap', 'ta', '/tmp/cap/ta/', '.js'],
  ] as const)('%s: one repository-relative entry per file, the slow file slower', (runner, name, root, ext) => {
    const files = parseFileDurations(runner, read(`${name}.report.stdout`), root);
    expect(files.map((f) => f.file)).toEqual([`test/math${ext}`, `test/strings${ext}`]);
    const [math, strings] = files.map((f) => f.ms);
    expect(strings).toBeGreaterThanOrEqual(100); // strings holds the test that waits 120 ms
    expect(math).toBeLessThan(strings ?? 0);
  });

  it('sums mocha tests per file and leaves out files outside the root', () => {
    const report = JSON.stringify({
      stats: { tests: 3 },
      tests: [
        { file: '/w/test/a.js', duration: 5 },
        { file: '/w/test/a.js', duration: 7 },
        { file: '/w/test/a.js' },
        { file: '/elsewhere/x.js', duration: 1 },
        { file: '/w/../etc/passwd', duration: 1 },
      ],
    });
    expect(
      parseFileDurations('mocha', `\n> test\n> mocha --reporter json\n\nsome console.log\n${report}\n`, '/w'),
    ).toEqual([{ file: 'test/a.js', ms: 12 }]);
  });

  it('gives nothing for unreadable reports or runners without one', () => {
    expect(parseFileDurations('jest', 'not json', '/w')).toEqual([]);
    expect(parseFileDurations('mocha', '{"tests": 3}', '/w')).toEqual([]);
    expect(parseFileDurations('tape', read('tp.stdout'), '/tmp/cap/tp')).toEqual([]);
    expect(parseFileDurations('unknown', read('mo.report.stdout'), '/tmp/cap/mo')).toEqual([]);
  });
});

describe('summarize (a sandboxed test run onto the stored TestRunSummary)', () => {
  const run = (stdout: string, stderr: string, exitCode: number | null) => ({
    exitCode,
    signal: null,
    timedOut: false,
    stdout,
    stderr,
    stdoutTruncated: false,
    stderrTruncated: false,
    durationMs: 1234.4,
    isolation: 'process' as const,
  });

  it('reads jest counts from stderr and mocha counts from stdout', () => {
    expect(summarize(run(read('je.stdout'), read('je.stderr'), 1))).toMatchObject({
      ok: false,
      tests: 7,
      pass: 4,
      fail: 1,
      skip: 2,
      runner: 'jest',
      durationMs: 1234,
    });
    expect(summarize(run(read('mo.stdout'), '', 1), 'mocha')).toMatchObject({
      tests: 7,
      pass: 4,
      fail: 1,
      skip: 2,
      runner: 'mocha',
    });
  });

  it('has null counts and keeps the reason in the tail when the runner could not start', () => {
    expect(summarize(run('\n> test\n> mocha\n', 'sh: 1: mocha: not found\n', 127), 'mocha')).toMatchObject({
      ok: false,
      exitCode: 127,
      tests: null,
      pass: null,
      fail: null,
      skip: null,
      runner: 'mocha',
      outputTail: expect.stringContaining('mocha: not found'),
    });
  });
});
