import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { load, startBenchServer } from './api-suite';
import { type CpuProfile, formatEntries, summarizeProfile } from './cpuprofile';
import { migratedBenchDatabase } from './database';
import { positiveInt } from './llm';

/**
 * `npm run bench:profile`: the bench API server (bench/api-server.ts) under `node --cpu-prof` while autocannon drives
 * `GET BENCH_PROFILE_ROUTE` (default `/api/agents`; `BENCH_PROFILE_CACHE=off` sends it to the API without the agents
 * cache) at BENCH_CONNECTIONS (default 50) for BENCH_DURATION_S (default 10), after 2 s of warm-up; then
 * the profile summarized: top 20 functions by self time, top 20 by total time, and per component (each middleware
 * file, other app files, npm packages, node core, GC). The .cpuprofile is kept (its path is printed) for DevTools.
 * Database: lvlup_bench_api beside DATABASE_URL's (created and migrated).
 */
async function main(): Promise<void> {
  const duration = positiveInt('BENCH_DURATION_S', 10);
  const connections = positiveInt('BENCH_CONNECTIONS', 50);
  const url = await migratedBenchDatabase('lvlup_bench_api');
  const dir = await mkdtemp(path.join(tmpdir(), 'lvlup-profile-'));
  const server = await startBenchServer({ ...process.env, DATABASE_URL: url }, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  const origin = process.env.BENCH_PROFILE_CACHE === 'off' ? server.apiNoCache : server.api;
  const target = `${origin}${process.env.BENCH_PROFILE_ROUTE ?? '/api/agents'}`;
  const headers = { Authorization: `Bearer ${server.key}` };
  let result;
  let window;
  try {
    await load(target, { headers, duration: 2, connections });
    await server.idle();
    const from = await server.now();
    result = await load(target, { headers, duration, connections });
    window = { from, to: await server.now() };
  } finally {
    await server.close();
  }
  const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error(`no .cpuprofile written in ${dir}`);
  const profile = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as CpuProfile;
  let summary = summarizeProfile(profile, { window });
  let scope = 'the measured run only';
  if (summary.sampled === 0) {
    summary = summarizeProfile(profile);
    scope = 'whole server run, start-up and warm-up included: the window matched no sample';
  }
  const out = process.stdout;
  out.write(
    `\nGET ${target}, ${connections} connections, ${duration} s: ${result.reqPerSec.toFixed(0)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms\n`,
  );
  out.write(`profile ${path.join(dir, file)}: ${(summary.sampled / 1000).toFixed(0)} ms sampled (${scope})\n\n`);
  out.write(formatEntries('top 20 functions by self time', summary.functions, summary.sampled, 20));
  out.write('\n');
  out.write(
    formatEntries(
      'top 20 functions by total time',
      [...summary.functions].sort((a, b) => b.total - a.total),
      summary.sampled,
      20,
    ),
  );
  out.write('\n');
  out.write(
    formatEntries(
      'by component (middleware file, app file, package, node core, V8)',
      summary.components,
      summary.sampled,
      20,
    ),
  );
  out.write('\n');
  const ours = summary.components.filter((c) => c.name.startsWith('middleware ') || c.name.startsWith('app '));
  out.write(formatEntries('middleware and app files', ours, summary.sampled, 20));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:profile failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
