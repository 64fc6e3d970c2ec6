import { SCENARIOS } from './scenarios';
import { formatTable, isGreen, runSuite } from './suite';

/**
 * `npm run chaos [-- --runs N] [--only <text>]`: runs the fault-injection scenarios against a real Temporal dev server,
 * PostgreSQL, worker processes and the fake LLM providers, prints the one table, and exits non-zero unless every row is
 * 100 % / 0 / 0 / 0. `--only` keeps the scenarios whose name contains the text (repeatable).
 */
async function main(argv: string[]): Promise<number> {
  let runs = 1;
  const only: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    if (arg === '--runs' && value !== undefined && /^[1-9]\d*$/.test(value)) runs = Number(argv[++i]);
    else if (arg === '--only' && value !== undefined) only.push(argv[++i] ?? '');
    else {
      process.stderr.write(`usage: npm run chaos -- [--runs N] [--only <scenario text>]… (got "${arg}")\n`);
      return 2;
    }
  }
  const scenarios = only.length === 0 ? SCENARIOS : SCENARIOS.filter((s) => only.some((o) => s.name.includes(o)));
  if (scenarios.length === 0) {
    process.stderr.write(
      `no scenario matches ${only.join(', ')}; scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}\n`,
    );
    return 2;
  }
  const started = Date.now();
  const rows = await runSuite(scenarios, runs, (row) =>
    process.stderr.write(
      `${isGreen(row) ? '✓' : '✗'} ${row.scenario} (${Math.round((Date.now() - started) / 1000)} s)\n`,
    ),
  );
  process.stdout.write(`${formatTable(rows)}\n`);
  process.stdout.write(`${new Date().toISOString()} · ${Math.round((Date.now() - started) / 1000)} s\n`);
  return rows.every(isGreen) ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `chaos suite failed to run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(3);
  },
);
