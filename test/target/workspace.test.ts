import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/logger';
import { createSandbox, type Sandbox } from '../../src/sandbox';
import { evictOverCap, git, listEntries, withWorkspace, WorkspaceError, type WorkspaceContext } from '../../src/target';
import { createStaging, publishStaging } from '../../src/target/dependency-cache';
import { createNodeProject, SEMVER_MANIFEST } from '../helpers/node-project';

let tmp: string;
let sandbox: Sandbox;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'lvlup-workspace-'));
  sandbox = await createSandbox({ requireIsolation: false, logger: createLogger({ level: 'error', format: 'json' }) });
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

let n = 0;
const fresh = (name: string) => path.join(tmp, `${name}-${++n}`);

function context(
  dataDir: string,
  setup: Partial<WorkspaceContext['setup']> = {},
  cacheCapBytes = 1024 ** 3,
): WorkspaceContext {
  return {
    sandbox,
    root: path.join(dataDir, 'workspaces'),
    setup: {
      installScripts: false,
      network: true,
      registry: 'https://registry.npmjs.org/',
      timeoutMs: 120_000,
      ...setup,
    },
    cacheCapBytes,
    runTimeoutMs: 60_000,
  };
}

async function failure(promise: Promise<unknown>): Promise<WorkspaceError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof WorkspaceError)) throw new Error(`expected a WorkspaceError, got ${String(err)}`);
  return err;
}

/** A custom setup that "installs" a tool printing `word` (and `bytes` of padding): no registry involved. */
const toolSetup = (word: string, bytes = 0, sleep = 0) =>
  `sleep ${sleep} && mkdir -p node_modules/.bin && printf '#!/bin/sh\\necho ${word}\\n' > node_modules/.bin/tool && chmod +x node_modules/.bin/tool && head -c ${bytes} /dev/zero > node_modules/pad`;

describe('npm ci from the registry', () => {
  const dataDir = () => path.join(tmp, 'npm-data');
  let repo: string;
  beforeAll(async () => {
    repo = await createNodeProject(fresh('npm'));
  });

  it('installs the lockfile in the sandbox on a miss, reuses the cached tree on the second run, and runs the suite offline', async () => {
    const ctx = context(dataDir());
    const first = await withWorkspace(ctx, repo, async (ws) => {
      expect((await lstat(path.join(ws.dir, 'node_modules'))).isSymbolicLink()).toBe(true);
      const run = await ws.run('npm test');
      expect(run.stdout).toContain('# pass 2');
      expect(run.exitCode).toBe(0);
      expect(await ws.diff()).toBe('');
      return ws.setup;
    });
    expect(first).toMatchObject({
      manager: 'npm',
      lockfile: 'package-lock.json',
      cacheHit: false,
      command: 'npm ci --ignore-scripts',
      network: true,
    });
    expect(first.cacheKey).toMatch(/^[0-9a-f]{32}$/);
    const second = await withWorkspace(ctx, repo, async (ws) => {
      expect((await ws.run('npm test')).exitCode).toBe(0);
      return ws.setup;
    });
    expect(second).toMatchObject({ cacheHit: true, cacheKey: first.cacheKey });
    expect(second.durationMs).toBeLessThan(first.durationMs);
    console.log(`npm ci (cache miss): ${first.durationMs} ms; cache hit: ${second.durationMs} ms`);
    // The target's checkout and branch never saw an install.
    expect(await git(repo, ['status', '--porcelain'])).toBe('');
    expect(existsSync(path.join(repo, 'node_modules'))).toBe(false);
    // What was installed came from a directory holding only the manifest and the lockfile.
    expect((await readdir(path.join(ctx.root, 'deps', first.cacheKey ?? ''))).sort()).toEqual([
      '.leases',
      '.lvlup-entry.json',
      'node_modules',
      'package-lock.json',
      'package.json',
    ]);
  });

  it('installs offline from the package cache an earlier online install filled', async () => {
    // Another manifest (a new key) with the same locked package: only the download cache can serve it.
    const other = await createNodeProject(fresh('offline-ok'), { manifest: { description: 'same deps, new key' } });
    const setup = await withWorkspace(context(dataDir(), { network: false }), other, async (ws) => {
      expect((await ws.run('npm test')).exitCode).toBe(0);
      return ws.setup;
    });
    expect(setup).toMatchObject({ cacheHit: false, network: false, command: 'npm ci --ignore-scripts --offline' });
  });

  it('fails an offline install whose package cache lacks a package with a clear reason', async () => {
    const err = await failure(
      withWorkspace(context(fresh('empty-cache'), { network: false }), repo, async () => undefined),
    );
    expect(err.type).toBe('TargetSetupFailed');
    expect(err.message).toMatch(
      /^offline install \(TARGET_SETUP_NETWORK=false\) failed: the package cache at .* lacks a package the lockfile needs/,
    );
    expect(err.message).toMatch(/ENOTCACHED|only-if-cached/);
  });

  it("never reads the target's own .npmrc: its registry and token reach nobody", async () => {
    const hits: string[] = [];
    const server: Server = createServer((req, res) => {
      hits.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
      res.writeHead(500).end();
    });
    server.on('connect', (req, socket) => {
      hits.push(`CONNECT ${req.url ?? ''}`);
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const hostile = await createNodeProject(fresh('npmrc'), {
        manifest: { description: 'with a hostile .npmrc' },
        // The explicit registry in the environment outranks a project's `registry=`, but not a proxy or a scoped registry.
        files: {
          '.npmrc': `registry=http://127.0.0.1:${port}/\nhttps-proxy=http://127.0.0.1:${port}/\nproxy=http://127.0.0.1:${port}/\n//127.0.0.1:${port}/:_authToken=leaked-token\n`,
        },
      });
      const setup = await withWorkspace(context(fresh('npmrc-data')), hostile, async (ws) => ws.setup);
      expect(setup.cacheHit).toBe(false);
      expect(hits).toEqual([]);
    } finally {
      server.close();
    }
  });
});

it('fails with a clear reason when the lockfile calls for a package manager the worker lacks', async () => {
  const repo = await createNodeProject(fresh('pnpm'), {
    lockfile: false,
    files: { 'pnpm-lock.yaml': "lockfileVersion: '9.0'\n" },
  });
  const err = await failure(withWorkspace(context(fresh('pnpm-data')), repo, async () => undefined));
  expect(err.type).toBe('TargetSetupFailed');
  expect(err.message).toMatch(/^pnpm-lock.yaml calls for pnpm, which is not installed on this worker/);
});

it('fails with the command, exit code and output when the install itself fails', async () => {
  const repo = await createNodeProject(fresh('bad-lock'), {
    lockfile: '{"lockfileVersion": 3, "packages": {"": {"name": "other"}}}',
  });
  const err = await failure(withWorkspace(context(fresh('bad-lock-data')), repo, async () => undefined));
  expect(err.type).toBe('TargetSetupFailed');
  expect(err.message).toMatch(/^npm ci --ignore-scripts failed \(exit \d+\): /);
  expect(err.message).toMatch(/in sync|lock file/i);
});

describe('TARGET_SETUP_CMD and the cache', () => {
  it('runs the custom setup instead of detection, caches its tree, and gives runs the installed binary', async () => {
    const repo = await createNodeProject(fresh('custom'), { manifest: { scripts: { test: 'tool' } } });
    const ctx = context(fresh('custom-data'), { command: toolSetup('from-custom-setup') });
    const results = [];
    for (let i = 0; i < 2; i++) {
      results.push(
        await withWorkspace(ctx, repo, async (ws) => {
          const run = await ws.run('npm test');
          return { setup: ws.setup, out: run.stdout };
        }),
      );
    }
    expect(results[0]).toMatchObject({
      setup: { manager: 'custom', cacheHit: false, command: toolSetup('from-custom-setup') },
      out: expect.stringContaining('from-custom-setup'),
    });
    expect(results[1]).toMatchObject({ setup: { cacheHit: true }, out: expect.stringContaining('from-custom-setup') });
  });

  it('evicts the least recently used trees past the size cap, never one in use', async () => {
    const dataDir = fresh('evict-data');
    const cap = 600_000;
    const repo = await createNodeProject(fresh('evict'), { manifest: { scripts: { test: 'tool' } } });
    const ws = (word: string) => context(dataDir, { command: toolSetup(word, 400_000) }, cap);
    const keys = async () =>
      (await listEntries({ root: path.join(dataDir, 'workspaces', 'deps'), capBytes: cap })).map((e) => e.key);
    const a = await withWorkspace(ws('a'), repo, async (w) => {
      // B is built while A is held: together they pass the cap, but A is in use and stays.
      const b = await withWorkspace(ws('b'), repo, async (inner) => inner.setup.cacheKey);
      expect((await w.run('node_modules/.bin/tool')).stdout).toContain('a');
      expect(await keys()).toEqual(expect.arrayContaining([w.setup.cacheKey, b]));
      return { a: w.setup.cacheKey, b };
    });
    expect((await keys()).sort()).toEqual([a.a, a.b].sort());
    // C is built with nobody holding A or B: the least recently used go, oldest first, until the cache fits.
    const c = await withWorkspace(ws('c'), repo, async (w) => w.setup.cacheKey);
    const left = await keys();
    expect(left).toContain(c);
    expect(left).toHaveLength(1);
  });

  it('installs a lockfile once when two runs of one worker need it together: the second waits and shares the tree, never half-built', async () => {
    const dataDir = fresh('race-data');
    const repo = await createNodeProject(fresh('race'), { manifest: { scripts: { test: 'tool' } } });
    // node_modules appears at once, the tool a second later: a tree published before it is complete would lack it.
    const slowSetup = `mkdir -p node_modules/.bin && sleep 1 && printf '#!/bin/sh\\necho raced\\n' > node_modules/.bin/tool && chmod +x node_modules/.bin/tool`;
    const ctx = context(dataDir, { command: slowSetup });
    const build = () =>
      withWorkspace(ctx, repo, async (ws) => ({
        setup: ws.setup,
        out: (await ws.run('node_modules/.bin/tool')).stdout,
      }));
    const first = build();
    await new Promise((resolve) => setTimeout(resolve, 400));
    const outs = await Promise.all([first, build()]);
    expect(outs.map((o) => o.setup.cacheHit)).toEqual([false, true]);
    expect(outs.map((o) => o.out.trim())).toEqual(['raced', 'raced']);
    const deps = path.join(dataDir, 'workspaces', 'deps');
    expect((await readdir(deps)).filter((name) => !name.startsWith('.'))).toEqual([outs[0]?.setup.cacheKey]);
    expect(await readdir(path.join(deps, '.staging'))).toEqual([]);
  });

  it('keeps the first published tree when builders in two processes race for one key, and drops the second', async () => {
    const cache = { root: fresh('publish-race'), capBytes: 10_000_000 };
    const built = async (word: string) => {
      const staging = await createStaging(cache, 'k1');
      await mkdir(path.join(staging, 'node_modules'), { recursive: true });
      await writeFile(path.join(staging, 'node_modules', 'who'), word);
      return staging;
    };
    const [ours, theirs] = [await built('first'), await built('second')];
    const a = await publishStaging(cache, 'k1', ours);
    const b = await publishStaging(cache, 'k1', theirs);
    expect(b.dir).toBe(a.dir);
    expect(await readFile(path.join(a.dir, 'node_modules', 'who'), 'utf8')).toBe('first');
    expect(await readdir(path.join(cache.root, '.staging'))).toEqual([]);
    await a.release();
    await b.release();
  });
});

it('sweeps the staging directory of a builder that died mid-install', async () => {
  const root = path.join(fresh('sweep'), 'deps');
  const dead = path.join(root, '.staging', 'abc-2147483646-0011');
  const live = path.join(root, '.staging', `abc-${process.pid}-0022`);
  await mkdir(path.join(dead, 'node_modules'), { recursive: true });
  await mkdir(live, { recursive: true });
  await evictOverCap({ root, capBytes: 1 });
  expect(existsSync(dead)).toBe(false);
  expect(existsSync(live)).toBe(true);
});

describe('commands that cannot start', () => {
  let repo: string;
  let ctx: WorkspaceContext;
  beforeAll(async () => {
    repo = await createNodeProject(fresh('start'), {
      manifest: { scripts: { test: 'nonexistent-runner', fails: 'exit 1' }, devDependencies: {} },
      lockfile: false,
    });
    ctx = context(fresh('start-data'));
  });

  it('throws TargetCommandUnavailable for a runner that is not installed, with the command, exit code and output', async () => {
    const err = await failure(withWorkspace(ctx, repo, (ws) => ws.run('npm test')));
    expect(err.type).toBe('TargetCommandUnavailable');
    expect(err.message).toMatch(
      /^"npm test" cannot start: command not found \(exit 127\): [\s\S]*nonexistent-runner: not found/,
    );
  });

  it('throws TargetCommandUnavailable for a missing npm script and a missing entry file', async () => {
    await expect(withWorkspace(ctx, repo, (ws) => ws.run('npm run bench'))).rejects.toMatchObject({
      type: 'TargetCommandUnavailable',
      message: expect.stringMatching(/missing npm script/),
    });
    await expect(withWorkspace(ctx, repo, (ws) => ws.exec('node', ['bench/missing.js']))).rejects.toMatchObject({
      type: 'TargetCommandUnavailable',
      message: expect.stringMatching(/entry file/),
    });
  });

  it('returns an ordinary failure (exit 1 with output) as a result', async () => {
    const run = await withWorkspace(ctx, repo, (ws) => ws.run('npm run fails'));
    expect(run.exitCode).toBe(1);
  });
});

it('installs nothing for a repository without dependencies and says why', async () => {
  const dir = fresh('plain');
  await mkdir(dir);
  await writeFile(
    path.join(dir, 'package.json'),
    JSON.stringify({ ...SEMVER_MANIFEST, devDependencies: undefined, scripts: { test: 'node --test' } }),
  );
  await git(dir, ['init', '-q', '-b', 'main']);
  await git(dir, ['add', '-A']);
  await git(dir, ['-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'plain']);
  const setup = await withWorkspace(context(fresh('plain-data')), dir, async (ws) => ws.setup);
  expect(setup).toMatchObject({
    manager: 'none',
    cacheKey: null,
    note: expect.stringMatching(/declares no dependencies/),
  });
});
