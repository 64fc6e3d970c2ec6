import { writeFile } from 'node:fs/promises';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_BUNDLE_PATH } from '../temporal/worker';
import { runMain } from './run-main';

/** Part of `npm run build`: writes the pre-built workflow bundle that production workers load at start. */
runMain(async () => {
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows') });
  await writeFile(WORKFLOW_BUNDLE_PATH, code);
  process.stdout.write(`wrote ${WORKFLOW_BUNDLE_PATH} (${(code.length / 1024).toFixed(0)} KiB)\n`);
});
