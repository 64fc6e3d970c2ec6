import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';

/**
 * `npm run bench:api`: 50 connections for 10 s each against a bare Koa route and against GET /api/agents with the
 * full stack (auth lookup, audit-free read, PostgreSQL). The servers run in a child process so the load generator
 * does not share their event loop. Needs PostgreSQL (DATABASE_URL, migrated: `npm run migrate`).
 */
async function main(): Promise<void> {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'bench/api-server.ts'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: process.env,
  });
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
  const target = JSON.parse(line) as { bare: string; api: string; key: string };
  try {
    const bare = await run(target.bare, {});
    const full = await run(target.api, { Authorization: `Bearer ${target.key}` });
    const rows = [
      ['bare Koa route', bare],
      ['GET /api/agents (full stack)', full],
    ] as const;
    process.stdout.write('\nscenario                        req/s     p50 ms  p99 ms  non-2xx\n');
    for (const [name, r] of rows) {
      process.stdout.write(
        `${name.padEnd(30)} ${r.requests.average.toFixed(0).padStart(7)}  ${String(r.latency.p50).padStart(7)} ${String(r.latency.p99).padStart(7)}  ${r.non2xx}\n`,
      );
    }
    process.stdout.write(`\nfull stack / bare: throughput ${(full.requests.average / bare.requests.average).toFixed(3)}×, `);
    process.stdout.write(`p50 ${(full.latency.p50 / Math.max(bare.latency.p50, 1)).toFixed(1)}×, p99 ${(full.latency.p99 / Math.max(bare.latency.p99, 1)).toFixed(1)}×\n`);
  } finally {
    child.kill('SIGINT');
  }
}

function run(url: string, headers: Record<string, string>): Promise<autocannon.Result> {
  return autocannon({ url, connections: 50, duration: 10, headers });
}

void main();
