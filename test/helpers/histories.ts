import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { requiredTestEnv, TEST_ENV } from './env';

/** With LVLUP_RECORD_HISTORIES=1, saves a run's history (with its workflow id) under test/histories for replay.test.ts to replay from then on. */
export async function recordHistory(workflowId: string, name: string): Promise<void> {
  if (process.env.LVLUP_RECORD_HISTORIES !== '1') return;
  const connection = await Connection.connect({ address: requiredTestEnv(TEST_ENV.temporalAddress) });
  try {
    const history = await new Client({ connection }).workflow.getHandle(workflowId).fetchHistory();
    const recorded = { workflowId, ...(JSON.parse(historyToJSON(history)) as object) };
    await writeFile(path.join(__dirname, '../histories', `${name}.json`), JSON.stringify(recorded, null, 2));
  } finally {
    await connection.close();
  }
}
