import { execFile, spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { git, openMirror } from '../../src/target';

/**
 * The https credentials path end to end, on loopback only: a TLS git server (git http-backend behind node's https,
 * demanding Basic auth) and a `git` on PATH that records every command line it is given before running the real one.
 */

const TOKEN = 'ghp_LoopbackToken_0123456789abcdef';
const HEADER = `Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`;
const exec = promisify(execFile);

let root: string;
let server: https.Server;
let url: string;
let argvLog: string;
const seen: Array<{ method: string; path: string; authorization: string | undefined }> = [];
const savedPath = process.env.PATH;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'lvlup-creds-'));
  await exec('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    path.join(root, 'key.pem'),
    '-out',
    path.join(root, 'cert.pem'),
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ]);
  const repo = path.join(root, 'srv', 'lib.git');
  await git(root, ['init', '-q', '--bare', '-b', 'main', repo]);
  const seed = path.join(root, 'seed');
  await git(root, ['init', '-q', '-b', 'main', seed]);
  await writeFile(path.join(seed, 'a.txt'), 'a\n');
  await git(seed, ['add', 'a.txt']);
  await git(seed, ['-c', 'user.name=dev', '-c', 'user.email=dev@example.com', 'commit', '-qm', 'a']);
  await git(seed, ['push', '-q', repo, 'HEAD:refs/heads/main']);

  server = https.createServer(
    { key: await readFile(path.join(root, 'key.pem')), cert: await readFile(path.join(root, 'cert.pem')) },
    (req, res) => {
      const parsed = new URL(req.url ?? '/', 'https://127.0.0.1');
      seen.push({ method: req.method ?? '', path: parsed.pathname, authorization: req.headers.authorization });
      if (req.headers.authorization !== HEADER) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end();
        return;
      }
      const cgi = spawn('/usr/bin/git', ['http-backend'], {
        env: {
          GIT_PROJECT_ROOT: path.join(root, 'srv'),
          GIT_HTTP_EXPORT_ALL: '1',
          REMOTE_USER: 'ci',
          PATH_INFO: parsed.pathname,
          QUERY_STRING: parsed.search.slice(1),
          REQUEST_METHOD: req.method ?? 'GET',
          CONTENT_TYPE: req.headers['content-type'] ?? '',
          PATH: '/usr/bin:/bin',
        },
      });
      req.pipe(cgi.stdin);
      const chunks: Buffer[] = [];
      cgi.stdout.on('data', (c: Buffer) => chunks.push(c));
      cgi.on('close', () => {
        const out = Buffer.concat(chunks);
        const split = out.indexOf('\r\n\r\n');
        const headers = out.subarray(0, split).toString().split('\r\n');
        const status = Number(/^Status: (\d+)/m.exec(headers.join('\n'))?.[1] ?? 200);
        for (const h of headers)
          if (!h.startsWith('Status:')) res.setHeader(h.slice(0, h.indexOf(':')), h.slice(h.indexOf(':') + 1).trim());
        res.writeHead(status).end(out.subarray(split + 4));
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/lib.git`;

  // A git that logs its command line, then runs the real one trusting the test's certificate.
  const bin = path.join(root, 'bin');
  argvLog = path.join(root, 'argv.log');
  await exec('mkdir', ['-p', bin]);
  await writeFile(
    path.join(bin, 'git'),
    `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argvLog}'\nGIT_SSL_CAINFO='${path.join(root, 'cert.pem')}' exec /usr/bin/git "$@"\n`,
  );
  await chmod(path.join(bin, 'git'), 0o755);
  process.env.PATH = `${bin}:${savedPath ?? '/usr/bin:/bin'}`;
});
afterAll(async () => {
  process.env.PATH = savedPath;
  await new Promise((r) => server.close(r));
  await rm(root, { recursive: true, force: true });
});

/** Every file under `dir`, read as text. */
async function allText(dir: string): Promise<string> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
  return (await Promise.all(files.map((f) => readFile(f, 'latin1')))).join('\n');
}

it('clones, fetches and pushes over https with the stored token sent only as a header, never on a command line or on disk', async () => {
  const dataDir = await mkdtemp(path.join(root, 'data-'));
  const mirror = await openMirror(dataDir, { url, fetchMinIntervalSeconds: 0 }, { token: TOKEN });
  await mirror.fetch();
  const head = (await git(mirror.dir, ['rev-parse', 'HEAD'])).trim();
  expect(await mirror.pushNewBranch('lvlup/proposal-cafe0001', head)).toBe('created');

  const gitRequests = seen.filter((r) => r.path.startsWith('/lib.git/'));
  expect(gitRequests.length).toBeGreaterThanOrEqual(5);
  expect(gitRequests.every((r) => r.authorization === HEADER)).toBe(true);
  expect(gitRequests.some((r) => r.path.endsWith('/git-receive-pack'))).toBe(true);

  const argv = await readFile(argvLog, 'utf8');
  expect(argv).toContain(`clone --bare --quiet --no-tags -- ${url} `);
  expect(argv).toMatch(/push --porcelain/);
  for (const form of [TOKEN, HEADER, Buffer.from(`x-access-token:${TOKEN}`).toString('base64')]) {
    expect(argv).not.toContain(form);
    expect(await allText(dataDir)).not.toContain(form);
  }
  expect(await git(mirror.dir, ['config', 'remote.origin.url'])).toBe(`${url}\n`);
});

it('fails without the token, with an error that names the remote and holds no credential', async () => {
  const dataDir = await mkdtemp(path.join(root, 'data-'));
  const wrong = `${TOKEN}-wrong`;
  const failed = await openMirror(dataDir, { url, fetchMinIntervalSeconds: 0 }, { token: wrong }).then(
    () => null,
    (err: unknown) => err as Error,
  );
  expect(failed?.message).toMatch(/git clone failed/);
  expect(failed?.message).toMatch(/https:\/\/127\.0\.0\.1:\d+.*terminal prompts disabled/);
  expect(failed?.message).not.toContain(wrong);
  expect(JSON.stringify(failed, Object.getOwnPropertyNames(failed))).not.toContain(
    Buffer.from(`x-access-token:${wrong}`).toString('base64'),
  );
  expect(seen.at(-1)?.authorization).toBe(`Basic ${Buffer.from(`x-access-token:${wrong}`).toString('base64')}`);
});
