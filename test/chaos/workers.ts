import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const READY = 'worker polling ';
const START_TIMEOUT_MS = 120_000;

export interface WorkerProcess {
  readonly pid: number;
  readonly name: string;
  /** True once the process has exited (killed or crashed). */
  readonly exited: boolean;
}

/**
 * Real worker OS processes (`src/bin/worker.ts`, the entry `npm run start:worker` runs) with the chaos environment:
 * each in a process group of its own, so a SIGKILL takes the whole worker down the way a crash or an OOM kill does.
 * The workflow bundle is built once by the lab (WORKFLOW_BUNDLE_PATH) and TypeScript is transpiled by swc, so a worker
 * is polling a few seconds after it is spawned.
 */
export class WorkerProcesses {
  private readonly children = new Map<string, { child: ChildProcess; done: Promise<void>; exited: boolean }>();
  private readonly log: WriteStream;
  private count = 0;

  constructor(
    private readonly env: Record<string, string>,
    readonly logPath: string,
    private readonly afterStart: () => Promise<void> = async () => undefined,
  ) {
    this.log = createWriteStream(logPath, { flags: 'a' });
  }

  /**
   * Spawns a worker (`env` added to the stage's, e.g. WORKER_QUEUES) and resolves once it polls its task queue; throws
   * with its output if it exits first.
   */
  async start(env: Record<string, string> = {}): Promise<WorkerProcess> {
    const name = `worker-${++this.count}`;
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/bin/worker.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        USER: process.env.USER ?? '',
        TS_NODE_SWC: 'true',
        ...this.env,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const entry = { child, exited: false, done: new Promise<void>((resolve) => child.once('close', () => resolve())) };
    void entry.done.then(() => (entry.exited = true));
    this.children.set(name, entry);
    let tail = '';
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${name} did not poll within ${START_TIMEOUT_MS} ms:\n${tail}`)),
        START_TIMEOUT_MS,
      );
      const onData = (chunk: Buffer) => {
        const text = chunk.toString();
        this.log.write(text.replace(/^/gm, `[${name}] `));
        tail = (tail + text).slice(-3000);
        if (tail.includes(READY)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      void entry.done.then(() => {
        clearTimeout(timer);
        reject(new Error(`${name} exited before it polled (exit ${child.exitCode ?? child.signalCode}):\n${tail}`));
      });
    });
    await ready;
    await this.afterStart();
    const pid = child.pid ?? 0;
    return {
      pid,
      name,
      get exited() {
        return entry.exited;
      },
    };
  }

  /** SIGKILL to the worker's whole process group (no shutdown code runs); resolves once it is gone. */
  async kill(worker: WorkerProcess): Promise<void> {
    const entry = this.children.get(worker.name);
    if (entry === undefined || entry.exited) return;
    try {
      process.kill(-worker.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await entry.done;
  }

  /** Kills every worker still running (teardown). */
  async killAll(): Promise<void> {
    for (const [name, entry] of this.children) {
      if (entry.child.pid !== undefined) await this.kill({ name, pid: entry.child.pid, exited: entry.exited });
    }
    await new Promise<void>((resolve) => this.log.end(resolve));
  }
}
