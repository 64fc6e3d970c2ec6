import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { quietSdkLogs } from '../helpers/worker';

/**
 * Recorded histories of real runs (test/histories, written by the workflow tests under LVLUP_RECORD_HISTORIES=1),
 * replayed against the current workflow code: a change that would break running workflows fails here (STYLE §3).
 */
quietSdkLogs();
const DIR = path.join(__dirname, '../histories');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

it('has recorded histories to replay', () => {
  expect(files.length).toBeGreaterThan(0);
});

it.each(files)('replays %s deterministically against the current workflows', async (file) => {
  // A history recorded with its workflow id replays under it (a cycle's child ids derive from it).
  const recorded = JSON.parse(readFileSync(path.join(DIR, file), 'utf8')) as { workflowId?: string };
  await Worker.runReplayHistory(
    { workflowsPath: require.resolve('../../workflows') },
    historyFromJSON(recorded),
    recorded.workflowId ?? file.replace(/\.json$/, ''),
  );
});
