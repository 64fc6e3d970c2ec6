import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { git } from '../../src/target';

/** One tiny devDependency with a binary and no dependencies of its own: a real `npm ci` from the registry in ~2 s. */
export const SEMVER_MANIFEST = {
  name: 'lvlup-fixture',
  version: '1.0.0',
  private: true,
  scripts: { test: "semver 1.2.3 -r '>=1.0.0' && node --test" },
  devDependencies: { semver: '7.6.3' },
};

/** The lockfile npm 11 writes for SEMVER_MANIFEST (`npm install --package-lock-only`). */
export const SEMVER_LOCKFILE = {
  name: 'lvlup-fixture',
  version: '1.0.0',
  lockfileVersion: 3,
  requires: true,
  packages: {
    '': { name: 'lvlup-fixture', version: '1.0.0', devDependencies: { semver: '7.6.3' } },
    'node_modules/semver': {
      version: '7.6.3',
      integrity: 'sha512-oVekP1cKtI+CTDvHWYFUcMtsK/00wmAEfyqKfNdARm8u1wNVhSgaX7A8d4UuIlUI5e84iEwOhs7ZPYRmzU9U6A==',
      dev: true,
      license: 'ISC',
      bin: { semver: 'bin/semver.js' },
      engines: { node: '>=10' },
    },
  },
};

const SOURCE = `'use strict';
const semver = require('semver');
/** Whether \`version\` satisfies the supported range. */
exports.supported = (version) => semver.satisfies(version, '>=1.0.0');
`;

const TEST = `'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { supported } = require('../src/version');
test('1.2.3 is supported', () => assert.equal(supported('1.2.3'), true));
test('0.9.0 is not', () => assert.equal(supported('0.9.0'), false));
`;

/**
 * A git repository at `dir` shaped like a user's project: package.json (SEMVER_MANIFEST with `manifest` merged over it),
 * its lockfile unless `lockfile` is false, a source that requires the dependency, a node:test suite and `files` as given.
 */
export async function createNodeProject(
  dir: string,
  opts: { manifest?: Record<string, unknown>; lockfile?: boolean | string; files?: Record<string, string> } = {},
): Promise<string> {
  await mkdir(path.join(dir, 'src'), { recursive: true });
  await mkdir(path.join(dir, 'test'), { recursive: true });
  await writeFile(
    path.join(dir, 'package.json'),
    `${JSON.stringify({ ...SEMVER_MANIFEST, ...opts.manifest }, null, 2)}\n`,
  );
  if (opts.lockfile !== false)
    await writeFile(
      path.join(dir, 'package-lock.json'),
      typeof opts.lockfile === 'string' ? opts.lockfile : `${JSON.stringify(SEMVER_LOCKFILE, null, 2)}\n`,
    );
  await writeFile(path.join(dir, '.gitignore'), 'node_modules/\n');
  await writeFile(path.join(dir, 'src', 'version.js'), SOURCE);
  await writeFile(path.join(dir, 'test', 'version.test.js'), TEST);
  for (const [name, content] of Object.entries(opts.files ?? {})) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  return commitRepository(dir);
}

/** Makes `dir` a git repository on `main` with everything in it committed, as a user's checkout would be. */
export async function commitRepository(dir: string): Promise<string> {
  await git(dir, ['init', '-q', '-b', 'main']);
  await git(dir, ['add', '-A']);
  await git(dir, ['-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'fixture']);
  return dir;
}
