import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PathEscapeError, planSetup, type SetupDecision, type SetupPlan } from '../../src/target';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'lvlup-pm-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

const MANIFEST = JSON.stringify({ name: 'x', devDependencies: { semver: '7.6.3' } });
const OPTS = {
  installScripts: false,
  network: true,
  registry: 'https://registry.npmjs.org/',
  downloadCacheRoot: '/data/workspaces/downloads',
};

let n = 0;
async function project(files: Record<string, string>): Promise<string> {
  const dir = path.join(root, String(++n));
  await mkdir(dir);
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(dir, name), content);
  return dir;
}

function plan(decision: SetupDecision): SetupPlan {
  if (decision.kind !== 'install') throw new Error(`expected an install, got: ${decision.reason}`);
  return decision.plan;
}

it('detects npm from package-lock.json (and npm-shrinkwrap.json) and installs with npm ci, scripts off, explicit config', async () => {
  const p = plan(await planSetup(await project({ 'package.json': MANIFEST, 'package-lock.json': '{}' }), OPTS));
  expect(p).toMatchObject({
    manager: 'npm',
    lockfile: 'package-lock.json',
    program: 'npm',
    command: 'npm ci --ignore-scripts',
    downloadCache: '/data/workspaces/downloads/npm',
  });
  expect(p.env).toEqual({
    npm_config_cache: '/data/workspaces/downloads/npm',
    npm_config_registry: 'https://registry.npmjs.org/',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    npm_config_ignore_scripts: 'true',
  });
  expect(p.files.map((f) => f.name)).toEqual(['package.json', 'package-lock.json']);
  const shrinkwrap = plan(
    await planSetup(
      await project({ 'package.json': MANIFEST, 'npm-shrinkwrap.json': '{}', 'package-lock.json': '{}' }),
      OPTS,
    ),
  );
  expect(shrinkwrap).toMatchObject({
    manager: 'npm',
    lockfile: 'npm-shrinkwrap.json',
    command: 'npm ci --ignore-scripts',
  });
});

it('detects pnpm from pnpm-lock.yaml and installs with a frozen lockfile into a store under the data directory', async () => {
  const p = plan(
    await planSetup(await project({ 'package.json': MANIFEST, 'pnpm-lock.yaml': "lockfileVersion: '9.0'\n" }), OPTS),
  );
  expect(p).toMatchObject({
    manager: 'pnpm',
    lockfile: 'pnpm-lock.yaml',
    program: 'pnpm',
    command: 'pnpm install --frozen-lockfile --ignore-scripts',
  });
  expect(p.env.npm_config_store_dir).toBe('/data/workspaces/downloads/pnpm/store');
});

it('tells yarn classic (--frozen-lockfile) from yarn berry (--immutable, node_modules linker) by the lockfile', async () => {
  const classic = plan(
    await planSetup(
      await project({
        'package.json': MANIFEST,
        'yarn.lock': '# yarn lockfile v1\n\nsemver@7.6.3:\n  version "7.6.3"\n',
      }),
      OPTS,
    ),
  );
  expect(classic).toMatchObject({
    manager: 'yarn',
    lockfile: 'yarn.lock',
    command: 'yarn install --frozen-lockfile --non-interactive --ignore-scripts',
  });
  const berry = plan(
    await planSetup(await project({ 'package.json': MANIFEST, 'yarn.lock': '__metadata:\n  version: 8\n' }), OPTS),
  );
  expect(berry).toMatchObject({ manager: 'yarn', command: 'yarn install --immutable --mode=skip-build' });
  expect(berry.env).toMatchObject({
    YARN_NODE_LINKER: 'node-modules',
    YARN_ENABLE_SCRIPTS: 'false',
    YARN_CACHE_FOLDER: '/data/workspaces/downloads/yarn',
  });
});

it('installs a package.json without a lockfile with npm install, writes no lockfile back, and says so', async () => {
  const p = plan(await planSetup(await project({ 'package.json': MANIFEST }), OPTS));
  expect(p).toMatchObject({
    manager: 'npm',
    lockfile: null,
    command: 'npm install --no-package-lock --ignore-scripts',
  });
  expect(p.note).toMatch(/no lockfile: installed from package.json with npm install/);
});

it('installs nothing without a package.json, or for one that declares no dependencies', async () => {
  expect(await planSetup(await project({ 'README.md': '# no node here' }), OPTS)).toEqual({
    kind: 'none',
    reason: 'no package.json: nothing to install',
  });
  expect(
    await planSetup(await project({ 'package.json': '{"name":"x","scripts":{"test":"node --test"}}' }), OPTS),
  ).toMatchObject({ kind: 'none', reason: expect.stringMatching(/declares no dependencies/) });
  expect(await planSetup(await project({ 'package.json': '{"name":"x","workspaces":["a"]}' }), OPTS)).toMatchObject({
    kind: 'install',
  });
});

it('lets TARGET_SETUP_CMD override detection, run through sh with the same explicit npm configuration', async () => {
  const p = plan(
    await planSetup(await project({ 'package.json': MANIFEST, 'pnpm-lock.yaml': 'x' }), {
      ...OPTS,
      setupCmd: 'make deps',
    }),
  );
  expect(p).toMatchObject({
    manager: 'custom',
    program: '/bin/sh',
    args: ['-c', 'make deps'],
    command: 'make deps',
    lockfile: 'pnpm-lock.yaml',
  });
  expect(p.env.npm_config_ignore_scripts).toBe('true');
});

it('installs offline from the cache when the setup has no network, and runs scripts only when allowed', async () => {
  const dir = await project({ 'package.json': MANIFEST, 'package-lock.json': '{}' });
  expect(plan(await planSetup(dir, { ...OPTS, network: false }))).toMatchObject({
    command: 'npm ci --ignore-scripts --offline',
    env: { npm_config_offline: 'true' },
  });
  expect(plan(await planSetup(dir, { ...OPTS, installScripts: true }))).toMatchObject({
    command: 'npm ci',
    env: { npm_config_ignore_scripts: 'false' },
  });
});

it('refuses a package.json or lockfile committed as a symlink out of the checkout', async () => {
  const dir = await project({ 'package.json': MANIFEST });
  await symlink('/etc/passwd', path.join(dir, 'package-lock.json'));
  await expect(planSetup(dir, OPTS)).rejects.toBeInstanceOf(PathEscapeError);
});
