import { load, startBenchServer } from './api-suite';

/**
 * `npm run bench:api`: 50 connections for 10 s each against a bare Koa route and against GET /api/agents with the
 * full stack (auth lookup, audit-free read, PostgreSQL). The servers run in a child process so the load generator
 * does not share their event loop. Needs PostgreSQL (DATABASE_URL, migrated: `npm run migrate`). `npm run bench`
 * runs this and every other route with goals.
 */
async function main(): Promise<void> {
  const server = await startBenchServer(process.env);
  try {
    const bare = await load(server.bare, { duration: 10, connections: 50 });
    const full = await load(`${server.api}/api/agents`, {
      headers: { Authorization: `Bearer ${server.key}` },
      duration: 10,
      connections: 50,
    });
    const rows = [
      ['bare Koa route', bare],
      ['GET /api/agents (full stack)', full],
    ] as const;
    process.stdout.write('\nscenario                        req/s     p50 ms  p99 ms  non-2xx\n');
    for (const [name, r] of rows) {
      process.stdout.write(
        `${name.padEnd(30)} ${r.reqPerSec.toFixed(0).padStart(7)}  ${String(r.p50).padStart(7)} ${String(r.p99).padStart(7)}  ${r.non2xx}\n`,
      );
    }
    process.stdout.write(`\nfull stack / bare: throughput ${(full.reqPerSec / bare.reqPerSec).toFixed(3)}×, `);
    process.stdout.write(
      `p50 ${(full.p50 / Math.max(bare.p50, 1)).toFixed(1)}×, p99 ${(full.p99 / Math.max(bare.p99, 1)).toFixed(1)}×\n`,
    );
  } finally {
    await server.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:api failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
