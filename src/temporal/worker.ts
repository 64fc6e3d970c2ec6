import { existsSync } from 'node:fs';
import path from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Activities } from '../../activities';
import type { Config } from '../config';
import { connectionOptions } from './client';

/** The pre-built bundle `npm run build` writes; the worker loads it (or WORKFLOW_BUNDLE_PATH) when present instead of bundling at start. */
export const WORKFLOW_BUNDLE_PATH = path.resolve(__dirname, '../../workflow-bundle.js');

export interface WorkerOptions {
  temporal: Config['temporal'];
  activities: Activities;
  taskQueue?: string;
  workflowsPath?: string;
  shutdownGraceSeconds: number;
}

/** Connects to Temporal and creates the worker for the default task queue (does not start polling). */
export async function createWorker(opts: WorkerOptions): Promise<{ worker: Worker; connection: NativeConnection }> {
  const connection = await NativeConnection.connect(connectionOptions(opts.temporal));
  const bundlePath = opts.temporal.workflowBundlePath ?? WORKFLOW_BUNDLE_PATH;
  const workflowSource =
    opts.workflowsPath === undefined && existsSync(bundlePath)
      ? { workflowBundle: { codePath: bundlePath } }
      : { workflowsPath: opts.workflowsPath ?? require.resolve('../../workflows') };
  const worker = await Worker.create({
    connection,
    namespace: opts.temporal.namespace,
    taskQueue: opts.taskQueue ?? opts.temporal.taskQueue,
    activities: opts.activities,
    shutdownGraceTime: `${opts.shutdownGraceSeconds}s`,
    ...workflowSource,
  });
  return { worker, connection };
}
