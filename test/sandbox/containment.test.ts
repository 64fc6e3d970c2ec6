import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createSandbox, type Sandbox, type SandboxRunRequest } from '../../src/sandbox';
import { BOGUS_BWRAP, BWRAP_WORKS, logger, NODE, tempDirs } from './support';

const dirs = tempDirs();
afterEach(() => dirs.cleanup());

/** Each path: its content, or the error code reading it gave inside the run. */
const readAll = (files: string[]) =>
  `for (const f of ${JSON.stringify(files)}) { try { console.log(require("fs").readFileSync(f, "utf8").trim()); } catch (e) { console.log(e.code); } }`;

// What bwrap promises; the plain-process fallback promises none of it (its info says so, tested at the end).
const bwrapOnly = BWRAP_WORKS ? describe : describe.skip;

bwrapOnly('a bwrap run sees only what it needs', () => {
  let sandbox: Sandbox;
  let product: string;
  let dataDir: string;
  beforeAll(async () => {
    // The shape of a real deployment: DATA_DIR inside the product's directory, both inside a directory a run binds.
    product = await mkdtemp(path.join(os.tmpdir(), 'lvlup-sandbox-product-'));
    dataDir = path.join(product, '.data');
    sandbox = await createSandbox({ requireIsolation: true, logger, hiddenPaths: [dataDir, product] });
    expect(sandbox.isolation).toBe('bwrap');
  });
  afterAll(() => rm(product, { recursive: true, force: true }));
  const run = (script: string, extra: Partial<SandboxRunRequest> & { cwd: string }) =>
    sandbox.run({ command: NODE, args: ['-e', script], timeoutMs: 20_000, ...extra });

  it('cannot read /etc/shadow or other host files outside its binds', async () => {
    const result = await run(readAll(['/etc/shadow', '/etc/hostname', '/etc/passwd']), { cwd: await dirs.make() });
    const [shadow, hostname, passwd] = result.stdout.trim().split('\n');
    expect(shadow).toBe('ENOENT');
    expect(hostname).toBe('ENOENT');
    // The synthetic account list: no host user beyond root and nobody.
    expect(passwd).toMatch(/^root:x:0:0:/);
  });

  it('cannot see another temporary directory outside its work directory', async () => {
    const other = await dirs.make();
    await writeFile(path.join(other, 'secret'), 'other-run-secret');
    const result = await run(readAll([path.join(other, 'secret')]), { cwd: await dirs.make() });
    expect(result.stdout.trim()).toBe('ENOENT');
    expect(result.stdout).not.toContain('other-run-secret');
  });

  it("hides the product's directory and DATA_DIR inside a bound directory, but not its own work directory", async () => {
    const wt = path.join(dataDir, 'worktrees');
    await mkdir(path.join(wt, 'run-a'), { recursive: true });
    await mkdir(path.join(wt, 'run-b'), { recursive: true });
    await writeFile(path.join(product, '.env'), 'OPENAI_API_KEY=product-secret');
    await writeFile(path.join(wt, 'run-a', 'secret'), 'run-a-secret');
    const parent = path.dirname(product);
    const cwd = path.join(wt, 'run-b');
    const files = [path.join(product, '.env'), path.join(wt, 'run-a', 'secret')];
    const script = `${readAll(files)}; require("fs").writeFileSync("out", "written"); console.log(require("fs").readdirSync(${JSON.stringify(parent)}).length > 0)`;
    // The whole parent (the system's temporary directory) bound read-only: everything in it shows but the hidden.
    const result = await run(script, { cwd, readOnlyPaths: [parent] });
    expect(result.stdout.trim().split('\n')).toEqual(['ENOENT', 'ENOENT', 'true']);
    expect(result.stdout).not.toMatch(/product-secret|run-a-secret/);
    expect(await readFile(path.join(cwd, 'out'), 'utf8')).toBe('written');
  });

  it('reads readOnlyPaths, cannot write them, and writes writablePaths', async () => {
    const cache = await dirs.make();
    const downloads = await dirs.make();
    await writeFile(path.join(cache, 'dep.js'), 'dependency');
    const script = `${readAll([path.join(cache, 'dep.js')])}; for (const f of ${JSON.stringify([path.join(cache, 'x'), path.join(downloads, 'x')])}) { try { require("fs").writeFileSync(f, "x"); console.log("wrote"); } catch (e) { console.log(e.code); } }`;
    const result = await run(script, { cwd: await dirs.make(), readOnlyPaths: [cache], writablePaths: [downloads] });
    expect(result.stdout.trim().split('\n')).toEqual(['dependency', 'EROFS', 'wrote']);
  });

  describe('network', () => {
    let server: Server;
    let port = 0;
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
    const connect = () =>
      `require("net").connect(${port}, "127.0.0.1").on("data", (d) => console.log(String(d))).on("error", (e) => console.log(e.code))`;

    it('has none without the network option', async () => {
      const before = connections;
      const result = await run(connect(), { cwd: await dirs.make() });
      expect(result.stdout.trim()).toMatch(/^E[A-Z]+$/);
      expect(connections).toBe(before);
    });

    it('reaches the host with network: true (a dependency install)', async () => {
      const before = connections;
      const result = await run(connect(), { cwd: await dirs.make(), network: true });
      expect(result.stdout.trim()).toBe('hello');
      expect(connections).toBe(before + 1);
    });
  });
});

describe('exclusive runs', () => {
  it('never overlap with any other run of the sandbox', async () => {
    const sandbox = await createSandbox({ requireIsolation: false, logger });
    const window = 'const t0 = Date.now(); setTimeout(() => console.log(JSON.stringify([t0, Date.now()])), 300)';
    const cwd = await dirs.make();
    const start = (exclusive: boolean) =>
      sandbox
        .run({ command: NODE, args: ['-e', window], cwd, timeoutMs: 20_000, exclusive })
        .then((r) => ({ exclusive, r }));
    const results = await Promise.all([
      start(false),
      start(true),
      start(false),
      start(false),
      start(true),
      start(false),
    ]);
    const spans = results.map(({ exclusive, r }) => ({ exclusive, span: JSON.parse(r.stdout) as [number, number] }));
    for (const a of spans.filter((s) => s.exclusive)) {
      for (const b of spans.filter((s) => s !== a)) {
        const overlap = a.span[0] < b.span[1] && b.span[0] < a.span[1];
        expect({ a: a.span, b: b.span, overlap }).toEqual({ a: a.span, b: b.span, overlap: false });
      }
    }
    // The shared runs did overlap each other: the gate serializes only what must be.
    const shared = spans.filter((s) => !s.exclusive).map((s) => s.span);
    expect(shared.some((a) => shared.some((b) => a !== b && a[0] < b[1] && b[0] < a[1]))).toBe(true);
  });
});

describe('the plain-process fallback', () => {
  it('says in its info that it isolates neither files, network nor processes', async () => {
    const sandbox = await createSandbox({ requireIsolation: false, logger, bwrapPath: BOGUS_BWRAP });
    expect(sandbox.info.isolation).toBe('process');
    const warnings = sandbox.info.warnings.join('\n');
    expect(warnings).toMatch(/no filesystem isolation/);
    expect(warnings).toMatch(/no network isolation/);
    expect(warnings).toMatch(/no pid namespace/);
  });
});
