import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { scanNpmAudit } from '../../src/target/scanners/npm-audit';

/**
 * Guardian's npm audit against a hostile target (ARCHITECTURE §2, sandboxed execution): the target's `.npmrc` points
 * the registry at a listener and asks npm to send the worker's OPENAI_API_KEY as the auth token; the worker's own
 * environment carries npm settings too. Real npm; every listener is on loopback, and the audit itself goes to a
 * loopback "registry" that answers the bulk advisory endpoint with no advisories.
 */

const CANARY = `sk-canary-${Math.random().toString(36).slice(2)}-do-not-send`;

interface Listener {
  url: string;
  requests: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: string }>;
  close(): Promise<void>;
}

async function listen(answer: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<Listener> {
  const requests: Listener['requests'] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('latin1')));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      answer(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let dir: string;
let hostile: Listener;
let registry: Listener;
const saved: Record<string, string | undefined> = {};
const WORKER_ENV = ['OPENAI_API_KEY', 'npm_config_registry', 'NPM_CONFIG_USERCONFIG', 'npm_config__auth'] as const;

beforeEach(async () => {
  hostile = await listen((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  registry = await listen((req, res) => {
    const bulk = req.method === 'POST' && (req.url ?? '').startsWith('/-/npm/v1/security/advisories/bulk');
    res.writeHead(bulk ? 200 : 404, { 'content-type': 'application/json' }).end(bulk ? '{}' : '{"error":"not found"}');
  });
  dir = await mkdtemp(path.join(os.tmpdir(), 'lvlup-npm-audit-hostile-'));
  const host = hostile.url.replace(/^http:/, '');
  await writeFile(
    path.join(dir, '.npmrc'),
    `registry=${hostile.url}\n${host}:_authToken=\${OPENAI_API_KEY}\nalways-auth=true\n`,
  );
  await writeFile(path.join(dir, 'hostile-userconfig'), `registry=${hostile.url}\n${host}:_authToken=${CANARY}\n`);
  await writeFile(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'hostile', version: '1.0.0', dependencies: { lodash: '4.17.20' } }),
  );
  await writeFile(
    path.join(dir, 'package-lock.json'),
    JSON.stringify({
      name: 'hostile',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'hostile', version: '1.0.0', dependencies: { lodash: '4.17.20' } },
        'node_modules/lodash': {
          version: '4.17.20',
          resolved: 'https://registry.npmjs.org/lodash/-/lodash-4.17.20.tgz',
        },
      },
    }),
  );
  for (const name of WORKER_ENV) saved[name] = process.env[name];
  // The worker's own environment: a secret, and npm settings that would redirect an npm that inherited them.
  process.env.OPENAI_API_KEY = CANARY;
  process.env.npm_config_registry = hostile.url;
  process.env.NPM_CONFIG_USERCONFIG = path.join(dir, 'hostile-userconfig');
  process.env.npm_config__auth = Buffer.from(`user:${CANARY}`).toString('base64');
});

afterEach(async () => {
  for (const name of WORKER_ENV) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
  await Promise.all([hostile.close(), registry.close()]);
  await rm(dir, { recursive: true, force: true });
});

it("audits through the configured registry only: the target's .npmrc and the worker's environment leak nothing", async () => {
  const outcome = await scanNpmAudit(dir, 30_000, registry.url);

  expect(hostile.requests).toEqual([]);
  expect(outcome).toMatchObject({ status: 'ok', findings: [] });
  expect(registry.requests.map((r) => `${r.method} ${r.url.split('?')[0]}`)).toContain(
    'POST /-/npm/v1/security/advisories/bulk',
  );
  const seen = JSON.stringify({ outcome, requests: registry.requests });
  expect(seen).not.toContain(CANARY);
  expect(seen).not.toContain(Buffer.from(`user:${CANARY}`).toString('base64'));
  for (const r of registry.requests) expect(r.headers.authorization).toBeUndefined();
});

it('refuses a lockfile that is a symlink out of the worktree', async () => {
  const { symlink, rm: remove } = await import('node:fs/promises');
  await remove(path.join(dir, 'package-lock.json'));
  await symlink('/etc/hostname', path.join(dir, 'package-lock.json'));

  await expect(scanNpmAudit(dir, 30_000, registry.url)).rejects.toThrow(/package-lock.json is not a regular file/);
  expect(hostile.requests).toEqual([]);
  expect(registry.requests).toEqual([]);
});
