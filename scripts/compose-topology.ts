/**
 * The topology of docker-compose.yml without Docker (docs/production.md): a Temporal Service on PostgreSQL (its schema
 * set up by Temporal's own SQL tool, its `default` namespace registered), the compiled migrate, the API and two
 * workers split by WORKER_QUEUES (`workflows` / `llm,sandbox`) as OS processes; then one custody exam through the
 * API, answered by a loopback fake OpenAI server (no key, no cost). Prints how long each part took, then stops every
 * process and removes what it made (databases, data directory) — with --keep, only after Ctrl-C.
 *
 *   npx ts-node --transpile-only scripts/compose-topology.ts [--keep]
 *
 * PostgreSQL: COMPOSE_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres, a role that may create databases).
 * Ports: COMPOSE_PORT_BASE (default 27000): Temporal frontend base+233, its other services base+234…239 and their
 * membership ports base-67…-61 (like 7233 and 6933 upwards). The Temporal server and SQL tool binaries are built once
 * with the Go toolchain (`go install`, minutes) into ~/.cache/lvlup/temporal-server-<version>/, or taken from
 * TEMPORAL_SERVER_BIN and TEMPORAL_SQL_TOOL.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { Client as PgClient } from 'pg';
import { temporalAnswers } from '../src/temporal/client';
import { scriptExams } from '../test/chaos/llm-script';
import { startFakeOpenAI } from '../test/fakes/llm-servers';
import { ENTRY, ensureDist } from '../test/production/dist';
import { waitFor } from '../test/helpers/wait';
import { Processes } from '../test/production/processes';

/** The server `go install` accepts without a wrapper (no replace directive) and the one the dev CLI v1.5.1 embeds. */
const SERVER_VERSION = 'v1.29.1';
const KEEP = process.argv.includes('--keep');
const PG_URL = process.env.COMPOSE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const BASE = Number(process.env.COMPOSE_PORT_BASE ?? 27000);
const PORTS = { frontend: BASE + 233, history: BASE + 234, matching: BASE + 235, worker: BASE + 239, http: BASE + 243 };
const MEMBERSHIP = { frontend: BASE - 67, history: BASE - 66, matching: BASE - 65, worker: BASE - 61 };

const timings: Array<[string, number]> = [];
async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const value = await fn();
  timings.push([what, Date.now() - started]);
  process.stdout.write(`  ${what}: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return value;
}

async function main(): Promise<void> {
  const started = Date.now();
  const run = randomBytes(3).toString('hex');
  const databases = {
    temporal: `temporal_topo_${run}`,
    visibility: `temporal_topo_vis_${run}`,
    app: `lvlup_topo_${run}`,
  };
  const work = await mkdtemp(path.join(os.tmpdir(), 'lvlup-topology-'));
  const pg = new URL(PG_URL);
  const procs = new Processes({});
  const openai = await startFakeOpenAI();
  let temporal: Connection | undefined;
  try {
    const { server, sqlTool } = await timed('Temporal server and SQL tool binaries', binaries);
    const sql = (db: string, ...args: string[]) =>
      procs.runCommand(`temporal-sql-tool ${args[0]}`, sqlTool, [
        '--plugin',
        'postgres12',
        '--ep',
        pg.hostname,
        '-p',
        pg.port || '5432',
        '-u',
        decodeURIComponent(pg.username || os.userInfo().username),
        ...(pg.password ? ['--pw', decodeURIComponent(pg.password)] : []),
        '--db',
        db,
        ...args,
      ]);
    await timed('Temporal schema (create, setup-schema, update-schema; both databases)', async () => {
      for (const [db, schema] of [
        [databases.temporal, 'postgresql/v12/temporal'],
        [databases.visibility, 'postgresql/v12/visibility'],
      ] as const) {
        await sql(db, 'create');
        await sql(db, 'setup-schema', '-v', '0.0');
        await sql(db, 'update-schema', '--schema-name', schema);
      }
    });
    await writeServerConfig(work, pg, databases);
    const address = `127.0.0.1:${PORTS.frontend}`;
    temporal = await timed('Temporal server on PostgreSQL answering, namespace `default` registered', async () => {
      procs.spawn('temporal-server', server, [
        '--root',
        work,
        '--config',
        'config',
        '--env',
        'topology',
        '--allow-no-auth',
        'start',
      ]);
      const connection = await waitForFrontend(address);
      await connection.workflowService
        .registerNamespace({ namespace: 'default', workflowExecutionRetentionPeriod: msToTs('1 day') })
        .catch((err: Error) => {
          if (!/already exists|AlreadyExists/i.test(err.message)) throw err;
        });
      const client = new Client({ connection, namespace: 'default' });
      await waitFor('the namespace to be served', 60_000, () =>
        client.workflow.count().then(
          () => true,
          () => false,
        ),
      );
      return connection;
    });
    await timed('npm run build (compiled code and workflow bundle; reused when current)', ensureDist);

    const dbUrl = new URL(PG_URL);
    dbUrl.pathname = `/${databases.app}`;
    const adminKey = randomBytes(24).toString('hex');
    const env: Record<string, string> = {
      NODE_ENV: 'production',
      DATABASE_URL: dbUrl.toString(),
      TEMPORAL_ADDRESS: address,
      DATA_DIR: path.join(work, 'data'),
      REVIEW_SIGNING_KEY: randomBytes(32).toString('hex'),
      OPENAI_BASE_URL: openai.url,
      OPENAI_API_KEY: 'sk-fake',
      LOG_FORMAT: 'json',
      ...(process.env.SANDBOX_REQUIRE_ISOLATION === undefined
        ? {}
        : { SANDBOX_REQUIRE_ISOLATION: process.env.SANDBOX_REQUIRE_ISOLATION }),
    };
    await timed('migrate (node dist/src/bin/migrate.js)', () => procs.run('migrate', ENTRY.migrate, env));
    const apiUrl = await timed('API and two workers (workflows / llm,sandbox) up', async () => {
      const api = procs.start('api', ENTRY.api, {
        ...env,
        API_HOST: '127.0.0.1',
        API_PORT: '0',
        ADMIN_API_KEY: adminKey,
      });
      const url = (await api.line(/API listening on (http:\/\/127\.0\.0\.1:\d+)/, 120_000))[1] ?? '';
      const workers = [
        procs.start('worker-workflows', ENTRY.worker, { ...env, WORKER_QUEUES: 'workflows' }),
        procs.start('worker-llm-sandbox', ENTRY.worker, { ...env, WORKER_QUEUES: 'llm,sandbox' }),
      ];
      await Promise.all(workers.map((w) => w.line(/worker polling /, 120_000)));
      return url;
    });
    const call = async (method: string, urlPath: string, body?: unknown) => {
      const res = await fetch(`${apiUrl}${urlPath}`, {
        method,
        headers: { Authorization: `Bearer ${adminKey}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    scriptExams(openai);
    const exam = await timed('custody exam through the API (POST /api/custody/tests, polled to its end)', async () => {
      const startedExam = await call('POST', '/api/custody/tests', {
        agentId: 'imperium',
        category: 'knowledge_verification',
      });
      if (startedExam.status !== 202)
        throw new Error(`the exam was answered ${startedExam.status}: ${JSON.stringify(startedExam.body)}`);
      const examUrl = String(startedExam.body.examUrl);
      return waitFor('the exam to end', 180_000, async () => {
        const e = (await call('GET', examUrl)).body;
        return e.status !== 'running' && e;
      });
    });
    if (exam.status !== 'passed') throw new Error(`the exam ended ${String(exam.status)}: ${JSON.stringify(exam)}`);
    const system = (await call('GET', '/api/system')).body;
    process.stdout.write(
      `\nexam ${String(exam.workflowId)}: ${String(exam.status)}, score ${String(exam.score)}; queues ${JSON.stringify(system.queues)}\n`,
    );
    process.stdout.write(`total ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    if (KEEP) {
      process.stdout.write(
        `--keep: API ${apiUrl} (admin key ${adminKey}), Temporal ${address}; Ctrl-C stops everything\n`,
      );
      await new Promise((resolve) => process.once('SIGINT', resolve));
    }
  } catch (err) {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n\nprocess logs:\n${procs.logs()}\n`);
    process.exitCode = 1;
  } finally {
    await procs.stopAll();
    await temporal?.close();
    await openai.close();
    await dropDatabases(Object.values(databases));
    await rm(work, { recursive: true, force: true });
  }
}

/** The cached binaries, built once with `go install` (niced: minutes of CPU) when missing. */
async function binaries(): Promise<{ server: string; sqlTool: string }> {
  const dir = path.join(
    process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'),
    'lvlup',
    `temporal-server-${SERVER_VERSION}`,
  );
  const server = process.env.TEMPORAL_SERVER_BIN ?? path.join(dir, 'temporal-server');
  const sqlTool = process.env.TEMPORAL_SQL_TOOL ?? path.join(dir, 'temporal-sql-tool');
  if (existsSync(server) && existsSync(sqlTool)) return { server, sqlTool };
  const go = ['/usr/local/go/bin/go', ...(process.env.PATH ?? '').split(':').map((d) => path.join(d, 'go'))].find((p) =>
    existsSync(p),
  );
  if (go === undefined)
    throw new Error('no Go toolchain to build the Temporal server with; set TEMPORAL_SERVER_BIN and TEMPORAL_SQL_TOOL');
  await mkdir(dir, { recursive: true });
  const staging = await mkdtemp(path.join(dir, '.build-'));
  try {
    process.stdout.write(
      `  building go.temporal.io/server ${SERVER_VERSION} (cmd/server, cmd/tools/sql) into ${dir}: minutes, once\n`,
    );
    await exec(
      'nice',
      [
        '-n',
        '19',
        go,
        'install',
        `go.temporal.io/server/cmd/server@${SERVER_VERSION}`,
        `go.temporal.io/server/cmd/tools/sql@${SERVER_VERSION}`,
      ],
      { ...process.env, GOBIN: staging, GOFLAGS: '-mod=mod' },
    );
    await rename(path.join(staging, 'server'), path.join(dir, 'temporal-server'));
    await rename(path.join(staging, 'sql'), path.join(dir, 'temporal-sql-tool'));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return { server: path.join(dir, 'temporal-server'), sqlTool: path.join(dir, 'temporal-sql-tool') };
}

function exec(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`))));
  });
}

/** The server's config: Temporal's development-postgres12.yaml with this run's databases, role and ports, no archival. */
async function writeServerConfig(
  work: string,
  pg: URL,
  databases: { temporal: string; visibility: string },
): Promise<void> {
  const store = (db: string, conns: number) => `
      sql:
        pluginName: postgres12
        databaseName: ${db}
        connectAddr: "${pg.hostname}:${pg.port || '5432'}"
        connectProtocol: tcp
        user: "${decodeURIComponent(pg.username || os.userInfo().username)}"
        password: "${decodeURIComponent(pg.password)}"
        maxConns: ${conns}
        maxIdleConns: ${conns}
        maxConnLifetime: 1h`;
  const service = (name: keyof typeof MEMBERSHIP) => `
  ${name}:
    rpc:
      grpcPort: ${PORTS[name]}
      membershipPort: ${MEMBERSHIP[name]}
      bindOnLocalHost: true${name === 'frontend' ? `\n      httpPort: ${PORTS.http}` : ''}`;
  const yaml = `log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: 4
  datastores:
    default:${store(databases.temporal, 20)}
    visibility:${store(databases.visibility, 4)}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
services:${service('frontend')}${service('matching')}${service('history')}${service('worker')}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: 127.0.0.1:${PORTS.frontend}
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: ${path.join(work, 'config', 'dynamicconfig.yaml')}
  pollInterval: 10s
`;
  await mkdir(path.join(work, 'config'), { recursive: true });
  await writeFile(path.join(work, 'config', 'topology.yaml'), yaml);
  // The compose file's dynamic config, plus eager activities as `npm run dev` turns them on.
  await writeFile(
    path.join(work, 'config', 'dynamicconfig.yaml'),
    'limit.maxIDLength:\n  - value: 255\n    constraints: {}\nsystem.forceSearchAttributesCacheRefreshOnRead:\n  - value: true\n    constraints: {}\nsystem.enableActivityEagerExecution:\n  - value: true\n    constraints: {}\n',
  );
}

async function waitForFrontend(address: string): Promise<Connection> {
  await waitFor(`the Temporal frontend on ${address}`, 120_000, async () => {
    const probe = Connection.lazy({ address, connectTimeout: 1000 });
    try {
      return await temporalAnswers(probe, 1000);
    } finally {
      await probe.close().catch(() => undefined);
    }
  });
  return Connection.connect({ address });
}

async function dropDatabases(names: string[]): Promise<void> {
  const client = new PgClient({ connectionString: PG_URL });
  await client.connect();
  try {
    for (const name of names) await client.query(`drop database if exists "${name}" with (force)`);
  } finally {
    await client.end();
  }
}

void main();
