import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The example target repository (examples/target): its suite passes under plain Node, its benchmark honours the
 * TARGET_BENCH_CMD contract, and every deliberate flaw the agents are expected to find is still where README.md
 * says it is.
 */
const TARGET = resolve(__dirname, '../../examples/target');

const run = (args: string[]): string =>
  execFileSync(process.execPath, args, { cwd: TARGET, encoding: 'utf8', stdio: 'pipe', timeout: 60_000 });

// eslint-disable-next-line no-control-regex
const stripAnsi = (text: string): string => text.replace(/\u001b\[[0-9;]*m/g, '');

const readTarget = (file: string): string => readFileSync(join(TARGET, file), 'utf8');

/** 1-based line of a target file. */
const lineOf = (file: string, line: number): string => readTarget(file).split('\n')[line - 1] ?? '';

/** Files `node --test` runs by default: *.test.js, *-test.js, *_test.js, test.js, test-*.js, any .js under test/. */
function testFiles(dir = TARGET): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      found.push(...testFiles(path));
    } else if (
      /[-_.]test\.[cm]?js$|^test(-.+)?\.[cm]?js$/.test(entry) ||
      (/\.[cm]?js$/.test(entry) && relative(TARGET, path).split('/').includes('test'))
    ) {
      found.push(path);
    }
  }
  return found;
}

/** Resolves a relative require/import specifier to a file path (undefined for packages and built-ins). */
function resolveLocal(fromFile: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(dirname(fromFile), specifier);
  const withExtensions = (p: string): string[] => [p, `${p}.js`, `${p}.cjs`, `${p}.mjs`, join(p, 'index.js')];
  const candidates = withExtensions(base);
  const pkg = join(base, 'package.json');
  if (existsSync(pkg)) {
    const main = (JSON.parse(readFileSync(pkg, 'utf8')) as { main?: string }).main;
    if (main) candidates.unshift(...withExtensions(join(base, main)));
  }
  return candidates.find((p) => existsSync(p) && statSync(p).isFile());
}

function localDependencies(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const pattern = /\b(?:require|import)\s*\(\s*['"]([^'"]+)['"]\s*\)|\bfrom\s+['"]([^'"]+)['"]/g;
  const specifiers = [...source.matchAll(pattern)].map((m) => m[1] ?? m[2] ?? '');
  return specifiers.map((s) => resolveLocal(file, s)).filter((p): p is string => p !== undefined);
}

describe('examples/target', () => {
  it('is a dependency-free CommonJS package with test and bench scripts', () => {
    const pkg = JSON.parse(readTarget('package.json')) as Record<string, unknown>;
    expect(pkg).toMatchObject({
      name: 'lvlup-example-target',
      private: true,
      scripts: { test: 'node --test', bench: 'node bench/run.js' },
    });
    expect(pkg.dependencies).toBeUndefined();
    expect(pkg.devDependencies).toBeUndefined();
    expect(pkg.type).toBeUndefined();
  });

  it('has a test suite that passes under plain node --test', () => {
    const output = stripAnsi(run(['--test'])); // throws (failing this test) on a non-zero exit
    const passed = Number(/^(?:#|ℹ) pass (\d+)$/m.exec(output)?.[1]);
    const failed = Number(/^(?:#|ℹ) fail (\d+)$/m.exec(output)?.[1]);
    expect(passed).toBeGreaterThan(0);
    expect(failed).toBe(0);
  });

  it('has a benchmark that prints {"name","ms"} JSON lines', () => {
    const lines = run(['bench/run.js'])
      .split('\n')
      .filter((line) => line.trim() !== '');
    expect(lines.length).toBeGreaterThan(0);
    const results = lines.map((line) => JSON.parse(line) as unknown);
    for (const result of results) {
      expect(result).toEqual({ name: expect.any(String), ms: expect.any(Number) });
      const { ms } = result as { ms: number };
      expect(Number.isFinite(ms) && ms >= 0).toBe(true);
    }
    expect(results.map((r) => (r as { name: string }).name)).toContain('countDuplicates');
  });

  describe('deliberate flaws (README.md lists each one with file:line)', () => {
    const readme = readTarget('README.md');

    it.each([
      ['SQL injection', 'src/users.js', 12, /"SELECT .* WHERE name = '" \+ name \+ "'"/],
      ['command injection', 'src/users.js', 31, /\bexec\('du -sh \/home\/' \+ username\b/],
      ['slow function', 'src/stats.js', 10, /^function countDuplicates\(/],
    ])('%s at %s:%d', (_flaw, file, line, pattern) => {
      expect(lineOf(file, line)).toMatch(pattern);
      expect(readme).toContain(`\`${file}:${line}\``);
    });

    it('the exec comes from child_process', () => {
      expect(readTarget('src/users.js')).toMatch(/const \{ exec \} = require\('node:child_process'\);/);
    });

    it('hard-coded secret at src/config.js:10, in a shape secretlint flags', () => {
      // The pattern of @secretlint/secretlint-rule-aws (AWSSecretAccessKey), which skips AWS's documented example key.
      const secretlintAws =
        /["']?(?:AWS|aws|Aws)?_?(?:SECRET|secret|Secret)_?(?:ACCESS|access|Access)_?(?:KEY|key|Key)["']?\s*(?::|=>|=)\s*["']?([A-Za-z0-9/+=]{40})["']?\b/;
      const match = secretlintAws.exec(lineOf('src/config.js', 10));
      expect(match?.[1]).toBeDefined();
      expect(match?.[1]).not.toMatch(/EXAMPLE/);
      expect(readme).toContain('`src/config.js:10`');
    });

    it('the slow function is quadratic: two nested loops over the input', () => {
      const source = readTarget('src/stats.js');
      const body = source.slice(source.indexOf('function countDuplicates('), source.indexOf('function mean('));
      expect(body.match(/for \(let j = /g)).toHaveLength(2);
      expect(body).not.toMatch(/new (Map|Set)\b/);
    });

    it('src/format.js is loaded by no test file, directly or through src/index.js', () => {
      const files = testFiles();
      expect(files.length).toBeGreaterThan(0);
      const format = join(TARGET, 'src/format.js');
      const index = join(TARGET, 'src/index.js');
      expect(existsSync(format)).toBe(true);
      expect(localDependencies(index)).toContain(format); // so loading the index would load format.js
      for (const file of files) {
        const deps = localDependencies(file);
        expect({ file: relative(TARGET, file), deps: deps.filter((d) => d === format || d === index) }).toEqual({
          file: relative(TARGET, file),
          deps: [],
        });
      }
      // ...while every other module is exercised, so format.js stands out.
      const tested = new Set(files.flatMap(localDependencies));
      for (const module of ['users', 'config', 'stats']) expect(tested).toContain(join(TARGET, `src/${module}.js`));
      expect(readme).toContain('`src/format.js:1`');
    });
  });
});
