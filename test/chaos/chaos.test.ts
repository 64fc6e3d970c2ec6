import { startLab, type Lab } from './harness';
import { SCENARIOS } from './scenarios';

// The fast subset of `npm run chaos` (docs/testing.md "Fault-injection suite"): one worker crash, one terminate, one cancel,
// each once, on the suite's own Temporal server, databases and worker processes.
jest.setTimeout(240_000);

const FAST = ['worker SIGKILL in exam answer', 'exam terminated in Temporal', 'guardian scan cancelled in Temporal'];
let lab: Lab;

beforeAll(async () => {
  lab = await startLab();
});
afterAll(async () => {
  await lab?.close();
});

it.each(FAST)('%s: finished correctly, no duplicate rows, no double LLM charge, no stuck agent', async (name) => {
  const scenario = SCENARIOS.find((s) => s.name === name);
  if (scenario === undefined) throw new Error(`no scenario "${name}"`);
  const figures = await scenario.run(lab);
  expect(figures).toEqual({ correct: true, duplicateRows: 0, doubleCharges: 0, stuckAgents: 0, notes: [] });
});
