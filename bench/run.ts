import { Client } from 'pg';
import { benchDatabaseUrl as databaseUrl, migratedBenchDatabase } from './database';
import { explain, isRouteRead, load, type LoadResult, startBenchServer } from './api-suite';
import { LLM_GOALS, positiveInt, runLlmBench } from './llm';
import { ROWS_PER_SCALE, resetSeed, seedTo } from './seed';
import { q, runWorkflowBench, WORKFLOW_GOALS } from './workflows';

/**
 * `npm run bench`: every scenario of issue 17 on the compiled code (dist/), each next to its reference, in one table
 * with the goal and PASS/MISS. Exit code 0 when the bench ran (MISS lines are findings, not failures); non-zero only
 * when the bench itself failed.
 *
 *  - LLM gateway (bench/llm.ts): overhead over a direct SDK call with the cache off, and a cache hit.
 *  - Custody exams (bench/workflows.ts): end to end, throughput with one worker, activity schedule → start.
 *  - API (bench/api-suite.ts): each read route against a bare Koa route at BENCH_CONNECTIONS connections for
 *    BENCH_DURATION_S seconds, on seeded tables (scale 1), then again at 10× the rows (cost growth), then EXPLAIN
 *    (ANALYZE) of every read each route sent, captured at run time from the server's PostgreSQL client.
 *
 * Env: DATABASE_URL (server; the bench uses its own databases lvlup_bench, lvlup_bench_wf, lvlup_bench_api there),
 * BENCH_DURATION_S (5), BENCH_CONNECTIONS (50), BENCH_ITERATIONS (2000) / BENCH_WARMUP (300) for the LLM calls,
 * BENCH_EXAMS (40), BENCH_ONLY (comma list of llm, workflows, api: run only those).
 */

const API_GOALS = { minThroughputRatio: 0.25, cachedThroughputRatio: 0.5, maxP99Ms: 25, maxGrowth: 1.5 };
/** What is measured: each hot read route, and the agents list twice — from its cache (the default) and without it. */
const ROUTES: ReadonlyArray<{ name: string; path: string; cacheOff?: true; minRatio: number }> = [
  { name: '/api/agents', path: '/api/agents', minRatio: API_GOALS.cachedThroughputRatio },
  { name: '/api/agents (cache off)', path: '/api/agents', cacheOff: true, minRatio: API_GOALS.minThroughputRatio },
  ...[
    '/api/agents/imperium',
    '/api/custody/tests',
    '/api/custody/leaderboard',
    '/api/proposals',
    '/api/guardian/findings',
    '/api/notifications',
    '/api/token-usage/summary',
  ].map((path) => ({ name: path, path, minRatio: API_GOALS.minThroughputRatio })),
];
const BIG_SCALE = 10;

interface Row {
  scenario: string;
  figure: string;
  reference: string;
  ratio: string;
  goal: string;
  pass: boolean | undefined;
}

const rows: Row[] = [];
const notes: string[] = [];
const out = (s: string) => process.stdout.write(s);
const progress = (s: string) => process.stderr.write(`bench: ${s}\n`);

const f = (v: number, digits = 3) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

async function llm(): Promise<void> {
  const iterations = positiveInt('BENCH_ITERATIONS', 2000);
  const warmup = positiveInt('BENCH_WARMUP', 300, true);
  progress(`LLM gateway, ${warmup} + ${iterations} calls per scenario`);
  const r = await runLlmBench({ databaseUrl: databaseUrl('lvlup_bench'), iterations, warmup });
  const over50 = r.gateway.p50 - r.direct.p50;
  const over99 = r.gateway.p99 - r.direct.p99;
  rows.push(
    {
      scenario: 'LLM gateway cache off, p50 ms',
      figure: f(r.gateway.p50),
      reference: `${f(r.direct.p50)} direct`,
      ratio: `+${f(over50)} ms`,
      goal: `+≤ ${LLM_GOALS.overheadP50Ms} ms`,
      pass: over50 <= LLM_GOALS.overheadP50Ms,
    },
    {
      scenario: 'LLM gateway cache off, p99 ms',
      figure: f(r.gateway.p99),
      reference: `${f(r.direct.p99)} direct`,
      ratio: `+${f(over99)} ms`,
      goal: `+≤ ${LLM_GOALS.overheadP99Ms} ms`,
      pass: over99 <= LLM_GOALS.overheadP99Ms,
    },
    {
      scenario: 'LLM gateway cache hit, p50 ms',
      figure: f(r.cacheHit.p50),
      reference: `${f(r.direct.p50)} direct`,
      ratio: `${f(r.cacheHit.p50 / r.direct.p50, 2)}×`,
      goal: `≤ ${LLM_GOALS.cacheHitP50Ms} ms`,
      pass: r.cacheHit.p50 <= LLM_GOALS.cacheHitP50Ms,
    },
  );
  // What the overhead is made of: the gateway's statements per call, each at least one PostgreSQL round trip.
  notes.push(
    `LLM gateway (cache off): ${f(r.gatewayTrips, 2)} database statements per call, answered in ${f(r.gatewayDbMs, 3)} ms per call (mean, sent → answered: the reservation and the settle, each a committed transaction) of the +${f(over50)} ms p50 overhead; one bare round trip on the same pool (prepared select 1) p50 ${f(r.dbRoundTrip.p50, 3)} ms`,
  );
}

async function workflows(): Promise<void> {
  const exams = positiveInt('BENCH_EXAMS', 40);
  progress(`custody exams, ${exams} on a fresh Temporal dev server`);
  const r = await runWorkflowBench({ exams, databaseUrl: databaseUrl('lvlup_bench_wf') });
  const perMin = (r.exams / r.wallMs) * 60_000;
  const e2e = q(r.durations, 0.5);
  const all = Object.values(r.overhead).flat();
  const s2s = q(all, 0.5);
  rows.push(
    {
      scenario: `custody exam end to end p50 ms (${r.exams})`,
      figure: f(e2e, 0),
      reference: '',
      ratio: '',
      goal: `≤ ${WORKFLOW_GOALS.examP50Ms} ms`,
      pass: e2e <= WORKFLOW_GOALS.examP50Ms,
    },
    {
      scenario: 'custody exams/min, 1 worker',
      figure: f(perMin, 1),
      reference: '',
      ratio: '',
      goal: `≥ ${WORKFLOW_GOALS.examsPerMin}`,
      pass: perMin >= WORKFLOW_GOALS.examsPerMin,
    },
    {
      scenario: `activity schedule→start p50 ms (${all.length})`,
      figure: f(s2s, 0),
      reference: `p99 ${f(q(all, 0.99), 0)}`,
      ratio: '',
      goal: `≤ ${WORKFLOW_GOALS.scheduleToStartP50Ms} ms`,
      pass: s2s <= WORKFLOW_GOALS.scheduleToStartP50Ms,
    },
  );
  const slowest = Object.entries(r.overhead)
    .map(([type, v]) => `${type} ${f(q(v, 0.5), 0)}`)
    .join(', ');
  notes.push(`schedule→start p50 per activity (ms), 4 agents in parallel: ${slowest}`);
  // The same at one exam at a time: the orchestration latency without any contention for slots or pollers.
  const few = Math.max(4, Math.round(exams / 4));
  progress(`custody exams, ${few} one at a time`);
  const serial = await runWorkflowBench({ exams: few, databaseUrl: databaseUrl('lvlup_bench_wf'), parallel: 1 });
  const serialAll = Object.values(serial.overhead).flat();
  const perType = Object.entries(serial.overhead)
    .map(([type, v]) => `${type} ${f(q(v, 0.5), 0)}`)
    .join(', ');
  notes.push(
    `one exam at a time (${serial.exams} exams): end to end p50 ${f(q(serial.durations, 0.5), 0)} ms, schedule→start p50 ${f(q(serialAll, 0.5), 0)} ms (p99 ${f(q(serialAll, 0.99), 0)}); per activity: ${perType}`,
  );
}

async function api(): Promise<void> {
  const duration = positiveInt('BENCH_DURATION_S', 5);
  const connections = positiveInt('BENCH_CONNECTIONS', 50);
  const url = await migratedBenchDatabase('lvlup_bench_api');
  const db = new Client({ connectionString: url });
  await db.connect();
  const server = await startBenchServer({ ...process.env, DATABASE_URL: url });
  try {
    await resetSeed(db);
    const table = async (scale: number) => {
      progress(
        `API at ${scale}× rows (${ROWS_PER_SCALE.exams * scale} exams, ${ROWS_PER_SCALE.ledger * scale} ledger events, ${ROWS_PER_SCALE.findings * scale} findings), ${duration} s per route`,
      );
      await server.idle();
      const bare = await load(server.bare, { duration, connections });
      const results = new Map<string, LoadResult>();
      for (const route of ROUTES) {
        const origin = route.cacheOff ? server.apiNoCache : server.api;
        // One request first: a route that fails makes the bench fail rather than measure error pages.
        await server.captureQueries(route.path, origin);
        results.set(
          route.name,
          await load(`${origin}${route.path}`, {
            headers: { Authorization: `Bearer ${server.key}` },
            duration,
            connections,
          }),
        );
      }
      return { bare, results };
    };
    await seedTo(db, 0, 1);
    const small = await table(1);
    apiRows('1×', small.bare, small.results);
    await floors(server, small.results, duration, connections);
    progress(`seeding to ${BIG_SCALE}×`);
    await seedTo(db, 1, BIG_SCALE);
    const big = await table(BIG_SCALE);
    apiRows(`${BIG_SCALE}×`, big.bare, big.results);
    for (const { name: route } of ROUTES) {
      const a = small.results.get(route);
      const b = big.results.get(route);
      if (a === undefined || b === undefined) continue;
      if (a.completed === 0 || b.completed === 0) {
        rows.push({
          scenario: `growth ${route}`,
          figure: 'n/a',
          reference: '',
          ratio: '',
          goal: `≤ ${API_GOALS.maxGrowth}×`,
          pass: undefined,
        });
        continue;
      }
      const tput = a.reqPerSec / b.reqPerSec;
      const p99 = b.p99 / Math.max(a.p99, 1);
      rows.push(
        {
          scenario: `growth ${route} req/s`,
          figure: f(b.reqPerSec, 0),
          reference: `${f(a.reqPerSec, 0)} at 1×`,
          ratio: `${f(tput, 2)}× slower`,
          goal: `≤ ${API_GOALS.maxGrowth}× slower`,
          pass: tput <= API_GOALS.maxGrowth,
        },
        {
          scenario: `growth ${route} p99 ms`,
          figure: f(b.p99, 0),
          reference: `${f(a.p99, 0)} at 1×`,
          ratio: `${f(p99, 2)}×`,
          goal: `≤ ${API_GOALS.maxGrowth}×`,
          pass: p99 <= API_GOALS.maxGrowth,
        },
      );
    }
    await explainRoutes(server, db);
  } finally {
    await server.close();
    await db.end();
  }
}

/**
 * Each route's floor at 1×: bare Koa sending that route's bytes with the same security headers (no auth, metrics,
 * routing, database). Route ÷ floor is what our stack costs; floor ÷ bare is what the response itself costs.
 */
async function floors(
  server: Awaited<ReturnType<typeof startBenchServer>>,
  results: Map<string, LoadResult>,
  duration: number,
  connections: number,
): Promise<void> {
  const lines: string[] = [];
  const seen = new Map<string, LoadResult>();
  for (const route of ROUTES) {
    const r = results.get(route.name);
    if (r === undefined || r.completed === 0) continue;
    let floor = seen.get(route.path);
    if (floor === undefined) {
      await server.idle();
      floor = await load(`${server.sameBytes}${route.path}`, { duration, connections });
      seen.set(route.path, floor);
    }
    lines.push(
      `  ${route.name.padEnd(26)} ${f(r.reqPerSec, 0).padStart(6)} req/s = ${f(r.reqPerSec / floor.reqPerSec, 2)}× of ${f(floor.reqPerSec, 0).padStart(6)} req/s (p99 ${f(floor.p99, 0)} ms)`,
    );
  }
  notes.push(
    `Each route at 1× against bare Koa sending the same bytes with the same security headers (its floor: no auth, metrics, routing or database):\n${lines.join('\n')}`,
  );
}

function apiRows(scale: string, bare: LoadResult, results: Map<string, LoadResult>): void {
  for (const [route, r] of results) {
    const errors = r.non2xx + r.errors > 0 ? ` (${r.non2xx} non-2xx, ${r.errors} errors)` : '';
    const ratio = r.reqPerSec / bare.reqPerSec;
    const minRatio = ROUTES.find((x) => x.name === route)?.minRatio ?? API_GOALS.minThroughputRatio;
    rows.push(
      {
        scenario: `API ${scale} ${route} req/s${errors}`,
        figure: f(r.reqPerSec, 0),
        reference: `${f(bare.reqPerSec, 0)} bare`,
        ratio: `${f(ratio, 3)}×`,
        goal: `≥ ${minRatio}×`,
        pass: ratio >= minRatio && errors === '',
      },
      {
        scenario: `API ${scale} ${route} p99 ms`,
        figure: r.completed === 0 ? 'n/a' : f(r.p99, 0),
        reference: `${f(bare.p99, 0)} bare`,
        ratio: r.completed === 0 ? 'n/a' : `${f(r.p99 / Math.max(bare.p99, 1), 1)}×`,
        goal: `≤ ${API_GOALS.maxP99Ms} ms`,
        pass: r.completed > 0 && r.p99 <= API_GOALS.maxP99Ms,
      },
    );
  }
}

/** Each route once more with the statement recorder on; EXPLAIN (ANALYZE) of every read it sent, on the 10× tables. */
async function explainRoutes(server: Awaited<ReturnType<typeof startBenchServer>>, db: Client): Promise<void> {
  const sections: string[] = [];
  for (const route of ROUTES) {
    const seen = new Set<string>();
    const queries = (await server.captureQueries(route.path, route.cacheOff ? server.apiNoCache : server.api)).filter(
      (x) => isRouteRead(x.text) && !seen.has(x.text) && seen.add(x.text),
    );
    sections.push(
      `\n── GET ${route.name}: ${queries.length} distinct read${queries.length === 1 ? '' : 's'} (at ${BIG_SCALE}× rows)${queries.length === 0 && !route.cacheOff && route.path === '/api/agents' ? ': answered from the agents cache' : ''}\n`,
    );
    for (const query of queries) {
      const sql = query.text.replace(/\s+/g, ' ').trim();
      sections.push(`  ${sql.length > 300 ? `${sql.slice(0, 300)}…` : sql}\n`);
      const plan = await explain(db, query);
      const nodes = plan.map((l) =>
        l
          .trim()
          .replace(/^->\s*/, '')
          .replace(/\s*\(actual.*$/, ''),
      );
      const indexed = nodes.filter((n) => /\bIndex (Only )?Scan\b/.test(n));
      const seq = nodes.filter((n) => /\bSeq Scan on\b/.test(n));
      sections.push(
        `    index use: ${indexed.length > 0 ? indexed.join('; ') : 'none'}${seq.length > 0 ? ` | seq scans: ${seq.join('; ')}` : ''}\n`,
      );
      for (const line of plan) sections.push(`    | ${line}\n`);
    }
  }
  notes.push(
    `EXPLAIN (ANALYZE, COSTS OFF) of every read the routes sent (recorded at run time from the server's pg client):${sections.join('')}`,
  );
}

function printTable(): void {
  const head: Row = {
    scenario: 'scenario',
    figure: 'figure',
    reference: 'reference',
    ratio: 'ratio',
    goal: 'goal',
    pass: undefined,
  };
  const cells = (r: Row) => [
    r.scenario,
    r.figure,
    r.reference,
    r.ratio,
    r.goal,
    r === head ? 'result' : r.pass === undefined ? 'n/a' : r.pass ? 'PASS' : 'MISS',
  ];
  const all = [head, ...rows];
  const widths = cells(head).map((_, i) => Math.max(...all.map((r) => (cells(r)[i] ?? '').length)));
  const line = (r: Row) =>
    cells(r)
      .map((c, i) => (i === 0 || i === 4 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ');
  out(`\n${line(head)}\n${widths.map((w) => '─'.repeat(w)).join('  ')}\n`);
  for (const r of rows) out(`${line(r)}\n`);
  const missed = rows.filter((r) => r.pass === false).length;
  const passed = rows.filter((r) => r.pass === true).length;
  out(
    `\n${passed} PASS, ${missed} MISS${rows.length > passed + missed ? `, ${rows.length - passed - missed} not measured` : ''}\n`,
  );
  for (const n of notes) out(`\n${n}\n`);
}

async function main(): Promise<void> {
  const only = (process.env.BENCH_ONLY ?? 'llm,workflows,api').split(',').map((s) => s.trim());
  const started = Date.now();
  const failed: string[] = [];
  // A section that fails is reported and the others still run; the exit code then says the bench failed.
  for (const [name, section] of [
    ['llm', llm],
    ['workflows', workflows],
    ['api', api],
  ] as const) {
    if (!only.includes(name)) continue;
    try {
      await section();
    } catch (err) {
      failed.push(name);
      process.stderr.write(
        `bench: ${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
    }
  }
  out(
    `\nnpm run bench — ${new Date().toISOString()}, node ${process.version}, ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
  );
  printTable();
  if (failed.length > 0) throw new Error(`section(s) failed: ${failed.join(', ')}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
