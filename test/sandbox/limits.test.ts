import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSandbox, type Sandbox, type SandboxIsolation } from '../../src/sandbox';
import type { CgroupBase } from '../../src/sandbox/cgroup-detect';
import {
  BOGUS_BWRAP,
  BWRAP_WORKS,
  cgroupSetup,
  leftoverCgroups,
  logger,
  NODE,
  processesWith,
  tempDirs,
} from './support';

const dirs = tempDirs();
afterEach(() => dirs.cleanup());

let cgroupBase: CgroupBase | undefined;
let tag = '';
beforeAll(async () => {
  ({ base: cgroupBase, tag } = await cgroupSetup());
});
afterEach(async () => {
  expect(await leftoverCgroups(cgroupBase, tag)).toEqual([]);
});

const MODES: SandboxIsolation[] = BWRAP_WORKS ? ['bwrap', 'process'] : ['process'];
const sandboxFor = (
  mode: SandboxIsolation,
  extra: { cgroups?: boolean; maxProcesses?: number; maxFileMb?: number } = {},
) =>
  createSandbox({
    requireIsolation: false,
    logger,
    bwrapPath: mode === 'bwrap' ? undefined : BOGUS_BWRAP,
    cgroups: extra.cgroups,
    limits: { maxProcesses: extra.maxProcesses, maxFileMb: extra.maxFileMb },
  }).then((sandbox) => {
    expect(sandbox.isolation).toBe(mode);
    return sandbox;
  });
const runNode = async (sandbox: Sandbox, script: string, timeoutMs = 20_000, memoryMb?: number) =>
  sandbox.run({ command: NODE, args: ['-e', script], cwd: await dirs.make(), timeoutMs, memoryMb });

describe('the cgroup on this machine', () => {
  it('is used whenever the worker can create one, and info says which', async () => {
    const sandbox = await createSandbox({ requireIsolation: false, logger });
    expect(sandbox.info.cgroup).toBe(cgroupBase?.mode ?? 'none');
    expect(sandbox.info.limits).toEqual({ memoryMb: 1024, cpuSeconds: 60, maxProcesses: 256, maxFileMb: 1024 });
  });

  it('without one, info says loudly what is not enforced', async () => {
    const sandbox = await sandboxFor(MODES[0] ?? 'process', { cgroups: false });
    expect(sandbox.info.cgroup).toBe('none');
    const expected =
      process.getuid?.() === 0 ? /process count NOT limited: RLIMIT_NPROC is never enforced for root/ : /RLIMIT_NPROC/;
    expect(sandbox.info.warnings.join('\n')).toMatch(expected);
  });
});

describe('the process rlimit', () => {
  const maxProcessesOf = async (sandbox: Sandbox) =>
    /^Max processes\s+(\S+)/m.exec(
      (await runNode(sandbox, 'console.log(require("fs").readFileSync("/proc/self/limits", "utf8"))')).stdout,
    )?.[1];

  it('is set only without a cgroup: it counts every process of the user, not the run', async () => {
    const mode = MODES[0] ?? 'process';
    expect(await maxProcessesOf(await sandboxFor(mode, { cgroups: false, maxProcesses: 77 }))).toBe('77');
    if (cgroupBase !== undefined)
      expect(await maxProcessesOf(await sandboxFor(mode, { maxProcesses: 77 }))).not.toBe('77');
  });
});

describe.each(MODES)('limits in %s mode', (mode) => {
  // Process and tree-memory limits need the cgroup. Without one (known only once beforeAll ran) a root worker has no
  // process limit at all: a fork bomb would take the machine, so these tests then check that info says so instead.
  const withCgroup = (name: string, fn: () => Promise<void>, timeout?: number) =>
    it(
      name,
      async () => {
        if (cgroupBase !== undefined) return fn();
        const sandbox = await sandboxFor(mode);
        expect(sandbox.info.warnings.join('\n')).toMatch(/no per-run cgroup/);
      },
      timeout,
    );

  it('stops a 2 GB file at the file-size limit', async () => {
    const sandbox = await sandboxFor(mode, { maxFileMb: 16 });
    const script =
      'const fs = require("fs"); const mb = Buffer.alloc(1 << 20, 1); const fd = fs.openSync("big", "w"); let n = 0;' +
      'try { for (; n < 2048; n++) fs.writeSync(fd, mb); console.log("wrote all"); } catch (e) { console.log(e.code, n); }';
    const cwd = await dirs.make();
    const result = await sandbox.run({ command: NODE, args: ['-e', script], cwd, timeoutMs: 20_000 });
    expect(result.stdout).not.toContain('wrote all');
    expect(result.stdout.trim() === '' ? result.signal : result.stdout.trim()).toMatch(/^(EFBIG 16|SIGXFSZ)$/);
    expect((await stat(path.join(cwd, 'big'))).size).toBeLessThanOrEqual(16 * 1024 * 1024);
  });

  withCgroup('caps the number of processes of a run (pids.max)', async () => {
    const sandbox = await sandboxFor(mode, { maxProcesses: 40 });
    const script =
      'const cp = require("child_process"); let ok = 0, failed = 0, done = 0;' +
      'const end = () => { if (++done === 100) { console.log(JSON.stringify({ ok, failed })); process.exit(0); } };' +
      'for (let i = 0; i < 100; i++) { const c = cp.spawn("sleep", ["30"], { stdio: "ignore" }); c.on("spawn", () => { ok++; end(); }); c.on("error", () => { failed++; end(); }); }';
    const result = await runNode(sandbox, script);
    const counts = JSON.parse(result.stdout) as { ok: number; failed: number };
    expect(counts.ok).toBeLessThan(40);
    expect(counts.failed).toBeGreaterThan(60);
  });

  withCgroup(
    'stops a fork bomb: the run ends at its timeout and nothing of it is left',
    async () => {
      const sandbox = await sandboxFor(mode, { maxProcesses: 64 });
      const started = Date.now();
      // The leader then becomes a sleep (exec: no fork needed), so the run lasts until its timeout with the bomb going.
      const result = await sandbox.run({
        command: 'bash',
        args: ['-c', ':(){ :|:& };:; exec sleep 30'],
        cwd: await dirs.make(),
        timeoutMs: 2000,
      });
      expect(Date.now() - started).toBeLessThan(2000 + 6000);
      expect(result.timedOut).toBe(true);
      expect(result.stderr).toMatch(/fork: (retry: )?Resource temporarily unavailable/);
      // leftoverCgroups (afterEach): the run's cgroup could be removed, so no process of the bomb is alive.
    },
    30_000,
  );

  withCgroup('limits the memory of the whole process tree, not only each process', async () => {
    const sandbox = await sandboxFor(mode);
    // Three children of 150 MB each: every one is under the per-process limit of 256 MB, together they are not.
    const child =
      'const b = Buffer.alloc(150 * 1024 * 1024, 1); setTimeout(() => console.log("held", b.length > 0), 1500)';
    const script =
      `const cp = require("child_process"); let held = 0, done = 0;` +
      `for (let i = 0; i < 3; i++) cp.execFile(process.execPath, ["-e", ${JSON.stringify(child)}], (e, out) => { if (out.includes("held")) held++; if (++done === 3) console.log("held:" + held); });`;
    const result = await runNode(sandbox, script, 20_000, 256);
    expect(result.stdout.trim()).not.toBe('held:3');
  });
});

describe.each(MODES)('whole-tree kill in %s mode', (mode) => {
  it.each([true, false])(
    'a setsid-detached grandchild does not survive the timeout (cgroups allowed: %s)',
    async (useCgroup) => {
      const sandbox = await sandboxFor(mode, { cgroups: useCgroup });
      expect(sandbox.info.cgroup).toBe(useCgroup ? (cgroupBase?.mode ?? 'none') : 'none');
      const cwd = await dirs.make();
      const token = `lvlup-escape-${randomBytes(6).toString('hex')}`;
      const marker = path.join(cwd, 'marker');
      // The grandchild leaves the run's process group and session, sleeps past the timeout, then writes the marker.
      const grandchild = `/* ${token} */ setTimeout(() => require("fs").writeFileSync(${JSON.stringify(marker)}, "escaped"), 1200)`;
      const script = `require("child_process").spawn(process.execPath, ["-e", ${JSON.stringify(grandchild)}], { detached: true, stdio: "ignore" }).unref(); setInterval(() => {}, 1000)`;
      const result = await sandbox.run({ command: NODE, args: ['-e', script], cwd, timeoutMs: 600 });
      expect(result.timedOut).toBe(true);
      expect(await processesWith(token)).toEqual([]);
      await sleep(1200);
      expect(existsSync(marker)).toBe(false);
      expect(await processesWith(token)).toEqual([]);
    },
  );
});
