import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseBenchOutput } from '../../src/domain/performance';
import { parseFileDurations, reporterArgs } from '../../src/domain/test-durations';
import { detectRunner, parseTestCounts, type PackageManifest } from '../../src/domain/test-results';
import { runSecurityScanners } from '../../src/target/scanners';

/**
 * The second example target (examples/target-deps): its mocha comes from the npm registry through the committed
 * lockfile (`npm ci` here is real), the parsers read its real output, and every deliberate flaw its README lists is
 * where it says and found by Guardian's scanners.
 */
const SOURCE = path.resolve(__dirname, '../../examples/target-deps');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cwd: string, command: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout: 180_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

let dir: string;
let manifest: PackageManifest & { devDependencies?: Record<string, string>; dependencies?: Record<string, string> };

beforeAll(async () => {
  dir = await realpath(await mkdtemp(path.join(os.tmpdir(), 'lvlup-target-deps-')));
  await cp(SOURCE, dir, { recursive: true, filter: (src) => !src.split(path.sep).includes('node_modules') });
  manifest = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as typeof manifest;
  const install = await run(dir, 'npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund']);
  expect({ code: install.code, stderr: install.stderr.slice(-2000) }).toEqual({ code: 0, stderr: expect.any(String) });
}, 240_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const lineOf = async (file: string, line: number): Promise<string> => (await readFile(path.join(SOURCE, file), 'utf8')).split('\n')[line - 1] ?? '';

describe('examples/target-deps', () => {
  it('has mocha as its only dependency, a dev one, locked with resolved and integrity for every package', async () => {
    expect(manifest.scripts).toMatchObject({ test: 'mocha', bench: 'node bench/run.js' });
    expect(manifest.dependencies).toBeUndefined();
    expect(Object.keys(manifest.devDependencies ?? {})).toEqual(['mocha']);
    const lock = JSON.parse(await readFile(path.join(SOURCE, 'package-lock.json'), 'utf8')) as { lockfileVersion: number; packages: Record<string, { resolved?: string; integrity?: string; link?: boolean }> };
    expect(lock.lockfileVersion).toBe(3);
    const installed = Object.entries(lock.packages).filter(([key, p]) => key !== '' && p.link !== true);
    expect(installed.length).toBeGreaterThan(10);
    for (const [key, p] of installed) {
      expect({ key, resolved: p.resolved?.startsWith('https://registry.npmjs.org/'), integrity: p.integrity?.startsWith('sha512-') }).toEqual({ key, resolved: true, integrity: true });
    }
    expect(await readFile(path.join(SOURCE, '.gitignore'), 'utf8')).toMatch(/^node_modules\/?$/m);
  });

  it('installs through npm ci and its mocha suite passes: the parser reads the real counts', async () => {
    const runner = detectRunner(manifest, 'npm test');
    expect(runner).toBe('mocha');
    const result = await run(dir, 'npm', ['test']);
    expect(result.code).toBe(0);
    expect(parseTestCounts(runner, `${result.stdout}\n${result.stderr}`)).toEqual({ runner: 'mocha', counts: { tests: 11, pass: 11, fail: 0, skip: 0 } });
  });

  it("gives per-file durations from mocha's json reporter, the slow module's test file the slowest", async () => {
    const result = await run(dir, 'npm', ['test', '--', ...reporterArgs('mocha')]);
    expect(result.code).toBe(0);
    const files = parseFileDurations('mocha', result.stdout, dir);
    const testFiles = (await readdir(path.join(dir, 'test'))).map((f) => `test/${f}`).sort();
    expect(files.map((f) => f.file)).toEqual(testFiles);
    expect(testFiles).toHaveLength(4);
    const slowest = [...files].sort((a, b) => b.ms - a.ms)[0];
    expect(slowest?.file).toBe('test/report.test.js');
  });

  it('has a benchmark that prints {"name","ms"} lines', async () => {
    const result = await run(dir, process.execPath, ['bench/run.js']);
    expect(result.code).toBe(0);
    expect(parseBenchOutput(result.stdout).map((s) => s.name)).toEqual(['distinct', 'slugify']);
  });

  describe('deliberate flaws (README.md lists each one with file:line)', () => {
    it.each([
      ['SQL injection', 'src/catalog.js', 12, /"SELECT .* LIKE '%" \+ term \+ "%'"/],
      ['command injection', 'src/catalog.js', 21, /\bexec\('tar czf \/tmp\/' \+ sku\b/],
      ['hard-coded secret', 'src/settings.js', 7, /githubToken: 'ghp_[A-Za-z0-9]{36}'/],
      ['slow function', 'src/report.js', 9, /^function distinct\(/],
      ['untested module', 'src/money.js', 1, /^'use strict';$/],
    ])('%s at %s:%d', async (_flaw, file, line, pattern) => {
      expect(await lineOf(file, line)).toMatch(pattern);
      expect(await readFile(path.join(SOURCE, 'README.md'), 'utf8')).toContain(`\`${file}:${line}\``);
    });

    it("are found by Guardian's scanners, the installed node_modules aside", async () => {
      const report = await runSecurityScanners(dir, { npmAudit: false });
      const found = report.findings.map((f) => `${f.rule} ${f.file}:${f.line}`);
      expect(found).toEqual(
        expect.arrayContaining(['@secretlint/secretlint-rule-github src/settings.js:7', 'lvlup/sql-concatenation src/catalog.js:12', 'security/detect-child-process src/catalog.js:21']),
      );
      expect(report.findings.filter((f) => f.file?.startsWith('node_modules/'))).toEqual([]);
      expect(JSON.stringify(report)).not.toContain('ghp_Lv1Up');
    });

    it('src/money.js is loaded by no test file, directly or through src/index.js', async () => {
      const tests = await readdir(path.join(SOURCE, 'test'));
      expect(tests.length).toBeGreaterThan(0);
      for (const name of tests) {
        const code = await readFile(path.join(SOURCE, 'test', name), 'utf8');
        expect({ name, loads: /require\(['"]\.\.\/src(\/money|\/index)?(\.js)?['"]\)/.test(code) }).toEqual({ name, loads: false });
      }
      expect(await readFile(path.join(SOURCE, 'src/index.js'), 'utf8')).toContain("require('./money')");
    });
  });
});
