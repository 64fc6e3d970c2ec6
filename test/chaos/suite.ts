import { startLab } from './harness';
import type { RunFigures } from './measures';
import type { Scenario } from './scenarios';

/** One table row: a scenario's figures summed over its runs. */
export interface ScenarioRow {
  scenario: string;
  runs: number;
  correct: number;
  duplicateRows: number;
  doubleCharges: number;
  stuckAgents: number;
  notes: string[];
}

/** Runs each scenario `runs` times (sequentially: they share the Temporal server) in one lab; `onRow` sees each row as it is done. */
export async function runSuite(
  scenarios: Scenario[],
  runs: number,
  onRow: (row: ScenarioRow) => void = () => undefined,
): Promise<ScenarioRow[]> {
  const lab = await startLab();
  // Interrupted (Ctrl-C, a CI timeout): the lab's processes and databases go with it.
  const onSignal = () => void lab.close().finally(() => process.exit(130));
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  const rows: ScenarioRow[] = [];
  try {
    for (const scenario of scenarios) {
      const figures: RunFigures[] = [];
      for (let i = 0; i < runs; i++) figures.push(await scenario.run(lab));
      const row: ScenarioRow = {
        scenario: scenario.name,
        runs,
        correct: figures.filter((f) => f.correct).length,
        duplicateRows: sum(figures.map((f) => f.duplicateRows)),
        doubleCharges: sum(figures.map((f) => f.doubleCharges)),
        stuckAgents: sum(figures.map((f) => f.stuckAgents)),
        notes: [...new Set(figures.flatMap((f) => f.notes))],
      };
      rows.push(row);
      onRow(row);
    }
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    await lab.close();
  }
  return rows;
}

/** Every run finished correctly and nothing doubled, went missing or stuck. */
export function isGreen(row: ScenarioRow): boolean {
  return row.correct === row.runs && row.duplicateRows === 0 && row.doubleCharges === 0 && row.stuckAgents === 0;
}

/** The one table: `scenario | runs | finished correctly | duplicate rows | double LLM charges | stuck agents`, then the notes of red rows. */
export function formatTable(rows: ScenarioRow[]): string {
  const header = ['scenario', 'runs', 'finished correctly', 'duplicate rows', 'double LLM charges', 'stuck agents'];
  const cells = rows.map((r) => [
    r.scenario,
    String(r.runs),
    `${Math.round((100 * r.correct) / r.runs)} %`,
    String(r.duplicateRows),
    String(r.doubleCharges),
    String(r.stuckAgents),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const out = [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)];
  for (const r of rows.filter((row) => !isGreen(row)))
    out.push(`  ✗ ${r.scenario}: ${r.notes.join('; ') || 'see the figures'}`);
  return out.join('\n');
}

function sum(values: number[]): number {
  return values.reduce((s, v) => s + v, 0);
}
