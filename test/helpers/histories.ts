import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { requiredTestEnv, TEST_ENV } from './env';

/** With LVLUP_RECORD_HISTORIES=1, saves a run's history under test/histories for replay.test.ts to replay from then on. */
export async function recordHistory(workflowId: string, name: string): Promise<void> {
  if (process.env.LVLUP_RECORD_HISTORIES !== '1') return;
  const connection = await Connection.connect({ address: requiredTestEnv(TEST_ENV.temporalAddress) });
  try {
    const history = await new Client({ connection }).workflow.getHandle(workflowId).fetchHistory();
    await writeFile(path.join(__dirname, '../histories', `${name}.json`), historyToJSON(history));
  } finally {
    await connection.close();
  }
}
