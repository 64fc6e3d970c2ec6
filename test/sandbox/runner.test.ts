import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createSandbox,
  SANDBOX_ERROR_TYPES,
  SandboxError,
  type Sandbox,
  type SandboxIsolation,
  type SandboxRunRequest,
} from '../../src/sandbox';
import { BOGUS_BWRAP, BWRAP_WORKS, logger, NODE } from './support';

const MODES: SandboxIsolation[] = BWRAP_WORKS ? ['bwrap', 'process'] : ['process'];

const dirs: string[] = [];
async function tempDir(base = os.tmpdir()): Promise<string> {
  const dir = await mkdtemp(path.join(base, 'lvlup-sandbox-test-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('createSandbox', () => {
  it('uses bubblewrap exactly when bubblewrap works on this machine', async () => {
    const sandbox = await createSandbox({ requireIsolation: false, logger });
    expect(sandbox.isolation).toBe(BWRAP_WORKS ? 'bwrap' : 'process');
  });

  it('falls back to a plain process with one loud warning when bwrap is unusable', async () => {
    const warn = jest.spyOn(logger, 'warn');
    try {
      const sandbox = await createSandbox({ requireIsolation: false, logger, bwrapPath: BOGUS_BWRAP });
      expect(sandbox.isolation).toBe('process');
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]?.[0])).toContain('SANDBOX NOT ISOLATED');
    } finally {
      warn.mockRestore();
    }
  });

  it('refuses when isolation is required and bwrap is unusable', async () => {
    const attempt = createSandbox({ requireIsolation: true, logger, bwrapPath: BOGUS_BWRAP });
    await expect(attempt).rejects.toBeInstanceOf(SandboxError);
    await expect(attempt).rejects.toMatchObject({
      type: SANDBOX_ERROR_TYPES.unavailable,
      message: expect.stringContaining('SANDBOX_REQUIRE_ISOLATION'),
    });
  });

  it('refuses a work directory that is relative, missing, a file or the root', async () => {
    const sandbox = await createSandbox({ requireIsolation: false, logger, bwrapPath: BOGUS_BWRAP });
    const dir = await tempDir();
    await writeFile(path.join(dir, 'file'), 'x');
    for (const cwd of ['relative/dir', path.join(dir, 'missing'), path.join(dir, 'file'), '/']) {
      await expect(sandbox.run({ command: 'true', args: [], cwd, timeoutMs: 5000 })).rejects.toMatchObject({
        type: SANDBOX_ERROR_TYPES.invalidRequest,
      });
    }
  });
});

describe.each(MODES)('sandbox in %s mode', (mode) => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await createSandbox({
      requireIsolation: false,
      logger,
      bwrapPath: mode === 'bwrap' ? undefined : BOGUS_BWRAP,
    });
    expect(sandbox.isolation).toBe(mode);
  });
  const run = async (script: string, extra: Partial<SandboxRunRequest> = {}) => {
    const cwd = extra.cwd ?? (await tempDir());
    return sandbox.run({ command: NODE, args: ['-e', script], timeoutMs: 20_000, ...extra, cwd });
  };

  it('reports the exit code and both output streams', async () => {
    const result = await run('process.stdout.write("out"); process.stderr.write("err"); process.exit(3)');
    expect(result).toMatchObject({
      exitCode: 3,
      signal: null,
      timedOut: false,
      stdout: 'out',
      stderr: 'err',
      isolation: mode,
    });
    expect(result).toMatchObject({ stdoutTruncated: false, stderrTruncated: false });
  });

  it('reports a program killed by a signal as that signal', async () => {
    const result = await run('process.kill(process.pid, "SIGTERM"); setTimeout(() => {}, 5000)');
    expect(result).toMatchObject({ exitCode: null, signal: 'SIGTERM', timedOut: false });
  });

  it('finds node on its PATH and feeds stdin', async () => {
    const cwd = await tempDir();
    const result = await sandbox.run({
      command: 'node',
      args: [
        '-e',
        'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(s.toUpperCase()))',
      ],
      cwd,
      stdin: 'hello',
      timeoutMs: 20_000,
    });
    expect(result).toMatchObject({ exitCode: 0, stdout: 'HELLO\n' });
  });

  it('never passes the parent environment, only PATH, HOME, LANG and the request env', async () => {
    process.env.LVLUP_TEST_SECRET = 'parent-secret-value';
    try {
      const cwd = await tempDir();
      const result = await run('console.log(JSON.stringify(process.env))', { cwd, env: { GIVEN: 'yes' } });
      expect(result.exitCode).toBe(0);
      expect(result.stdout).not.toContain('parent-secret-value');
      const env = JSON.parse(result.stdout) as Record<string, string>;
      expect(env.LVLUP_TEST_SECRET).toBeUndefined();
      expect(env).toMatchObject({ GIVEN: 'yes', HOME: cwd });
      // PWD is the shell's own, set as it starts the program.
      for (const name of Object.keys(env))
        expect(['GIVEN', 'HOME', 'LANG', 'PATH', 'PWD', 'LVLUP_SANDBOX_RUN']).toContain(name);
    } finally {
      delete process.env.LVLUP_TEST_SECRET;
    }
  });

  it('kills a program that runs forever, and its grandchildren, at the timeout', async () => {
    const cwd = await tempDir();
    const grandchild = 'setInterval(() => require("fs").appendFileSync("beat", "."), 50)';
    const script = `require("child_process").spawn(process.execPath, ["-e", ${JSON.stringify(grandchild)}], { stdio: "ignore" }); for (;;) {}`;
    const started = Date.now();
    const result = await run(script, { cwd, timeoutMs: 1500 });
    expect(result.timedOut).toBe(true);
    expect(result.signal).toBe('SIGKILL');
    expect(Date.now() - started).toBeLessThan(1500 + 2000);
    const beat = path.join(cwd, 'beat');
    const before = (await stat(beat)).size;
    expect(before).toBeGreaterThan(0);
    await sleep(400);
    expect((await stat(beat)).size).toBe(before);
  });

  it('kills a running program and its grandchildren when its signal aborts (a cancelled activity), then rejects', async () => {
    const cwd = await tempDir();
    const grandchild = 'setInterval(() => require("fs").appendFileSync("beat", "."), 50)';
    const script = `require("child_process").spawn(process.execPath, ["-e", ${JSON.stringify(grandchild)}], { stdio: "ignore" }); for (;;) {}`;
    const controller = new AbortController();
    const started = Date.now();
    const running = run(script, { cwd, timeoutMs: 20_000, signal: controller.signal });
    const beat = path.join(cwd, 'beat');
    while (!existsSync(beat)) await sleep(50);
    controller.abort(new Error('activity cancelled'));
    await expect(running).rejects.toThrow('activity cancelled');
    expect(Date.now() - started).toBeLessThan(10_000);
    await sleep(300);
    const before = (await stat(beat)).size;
    await sleep(400);
    expect((await stat(beat)).size).toBe(before);
  });

  it('does not start a run whose signal has already aborted', async () => {
    const cwd = await tempDir();
    await expect(
      run('require("fs").writeFileSync("ran", "")', { cwd, signal: AbortSignal.abort(new Error('cancelled before')) }),
    ).rejects.toThrow('cancelled before');
    expect(existsSync(path.join(cwd, 'ran'))).toBe(false);
  });

  it('stops a program at its CPU limit', async () => {
    const result = await run('for (;;) {}', { cpuSeconds: 1 });
    expect(result.timedOut).toBe(false);
    expect(result.signal).toMatch(/^SIG(KILL|XCPU)$/);
    expect(result.durationMs).toBeLessThan(10_000);
  });

  it('grants memory below its memory limit and refuses memory beyond it', async () => {
    const allocate = (mb: number) =>
      `try { Buffer.alloc(${mb} * 1024 * 1024, 1); console.log("${mb}: granted"); } catch { console.log("${mb}: refused"); }`;
    const result = await run(`${allocate(64)} ${allocate(512)}`, { memoryMb: 256 });
    expect(result).toMatchObject({ exitCode: 0, stdout: '64: granted\n512: refused\n' });
  });

  it('caps output per stream without splitting a character, and marks it truncated', async () => {
    const result = await run('process.stdout.write("a" + "é".repeat(100000)); process.stderr.write("small")', {
      maxOutputBytes: 1000,
    });
    expect(result.exitCode).toBe(0);
    expect(result.stdoutTruncated).toBe(true);
    expect(result.stdout).toBe('a' + 'é'.repeat(499));
    expect(result).toMatchObject({ stderr: 'small', stderrTruncated: false });
  });

  it('keeps 64 KiB per stream by default and still reads a large output to the end', async () => {
    const result = await run('process.stdout.write("x".repeat(4 * 1024 * 1024))');
    expect(result).toMatchObject({ exitCode: 0, timedOut: false, stdoutTruncated: true });
    expect(Buffer.byteLength(result.stdout)).toBe(64 * 1024);
  });

  // The plain-process fallback guarantees only the limits above: it shares the network, the filesystem and the pid
  // space with the worker. These isolation tests therefore run only where bubblewrap is used.
  const isolatedOnly = mode === 'bwrap' ? it : it.skip;

  describe('isolation', () => {
    let server: Server;
    let port: number;
    let connections = 0;
    beforeAll(async () => {
      server = createServer((socket) => {
        connections += 1;
        socket.end('hello');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      port = typeof address === 'object' && address !== null ? address.port : 0;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    isolatedOnly('cannot open a network connection, even to the local machine', async () => {
      const script = `require("net").connect(${port}, "127.0.0.1").on("connect", () => console.log("connected")).on("error", (e) => console.log(e.code))`;
      const result = await run(script);
      expect(result.stdout.trim()).toMatch(/^E[A-Z]+$/);
      expect(connections).toBe(0);
    });

    isolatedOnly('can write its work directory but nothing outside it', async () => {
      const cwd = await tempDir();
      const outsideTmp = await tempDir();
      const outsideVar = await tempDir(existsSync('/var/tmp') ? '/var/tmp' : os.tmpdir());
      const inside = path.join(cwd, 'inside');
      const escapes = [path.join(outsideTmp, 'escaped'), path.join(outsideVar, 'escaped'), '/etc/lvlup-escaped'];
      const targets = [inside, ...escapes];
      const script = `for (const f of ${JSON.stringify(targets)}) { try { require("fs").writeFileSync(f, "x"); console.log("wrote"); } catch (e) { console.log(e.code); } }`;
      const result = await run(script, { cwd });
      const [insideOutcome, ...escapeOutcomes] = result.stdout.trim().split('\n');
      expect(insideOutcome).toBe('wrote');
      expect(escapeOutcomes).toHaveLength(escapes.length);
      for (const code of escapeOutcomes) expect(code).toMatch(/^E[A-Z]+$/);
      expect(await readFile(inside, 'utf8')).toBe('x');
      for (const escape of escapes) expect(existsSync(escape)).toBe(false);
    });

    isolatedOnly('cannot see or signal processes outside its own pid namespace', async () => {
      const result = await run(
        `try { process.kill(${process.pid}, 0); console.log("visible"); } catch (e) { console.log(e.code); }`,
      );
      expect(result.stdout.trim()).toBe('ESRCH');
    });
  });
});
