import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { SandboxRunResult } from './types';

export interface SpawnOptions {
  cwd: string;
  /** The complete environment of the child; nothing is inherited. */
  env: Record<string, string>;
  timeoutMs: number;
  stdin?: string;
  maxOutputBytes: number;
  /** Data for file descriptors 3, 4, … of the child (bwrap's `--ro-bind-data`): each is written whole, then closed. */
  inputs?: string[];
  /** Called wherever the process group is killed (timeout, exit, error): kills what left the group (a cgroup). */
  onKill?: () => void;
  /** Aborting it kills the group (and calls `onKill`) as the timeout does, without marking the run timed out. */
  signal?: AbortSignal;
}

/** What one spawn gives back; the runner adds which isolation it ran under. */
export type SpawnResult = Omit<SandboxRunResult, 'isolation'>;

/** After the main process exits, how long leftovers holding the output pipes may delay the result. */
const PIPE_GRACE_MS = 500;

/**
 * Runs `file args` as the leader of a new process group and kills the whole group with SIGKILL (and calls `onKill`
 * for what left the group) at the timeout and again when the leader exits, so no grandchild outlives the run. Output is kept up to `maxOutputBytes` per stream
 * and read to the end, so a chatty child never blocks on a full pipe. Rejects only when the program cannot be started.
 */
export function spawnLimited(file: string, args: string[], opts: SpawnOptions): Promise<SpawnResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe', ...(opts.inputs ?? []).map(() => 'pipe' as const)],
    });
    (opts.inputs ?? []).forEach((data, i) => writeInput(child.stdio[i + 3], data));
    const stdout = createCollector(opts.maxOutputBytes);
    const stderr = createCollector(opts.maxOutputBytes);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    // Without input the program reads end-of-file at once. One that exits without reading its input closes the
    // pipe: EPIPE here is expected, not a failure.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.stdin);

    let timedOut = false;
    let settled = false;
    let grace: NodeJS.Timeout | undefined;
    const kill = () => {
      killGroup(child.pid);
      opts.onKill?.();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, opts.timeoutMs);
    const abort = () => kill();
    if (opts.signal?.aborted === true) abort();
    else opts.signal?.addEventListener('abort', abort, { once: true });

    const finish = (exitCode: number | null, signal: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(grace);
      opts.signal?.removeEventListener('abort', abort);
      const out = stdout.result();
      const err = stderr.result();
      resolve({
        exitCode,
        signal,
        timedOut,
        stdout: out.text,
        stderr: err.text,
        stdoutTruncated: out.truncated,
        stderrTruncated: err.truncated,
        durationMs: Math.round(performance.now() - started),
      });
    };

    child.on('error', (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', abort);
      kill();
      reject(err);
    });
    child.on('exit', (code, signal) => {
      kill();
      // A descendant that escaped the group (setsid) may still hold the pipes: stop waiting for it.
      grace = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish(code, signal);
      }, PIPE_GRACE_MS);
    });
    child.on('close', (code, signal) => finish(code, signal));
  });
}

function writeInput(stream: unknown, data: string): void {
  if (!(stream instanceof Writable)) return;
  stream.on('error', () => undefined);
  stream.end(data);
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: the group is already gone, which is the point.
  }
}

/** Keeps the first `maxBytes` bytes; decodes at the end, dropping a character the cap cut in half. */
function createCollector(maxBytes: number) {
  const chunks: Buffer[] = [];
  let kept = 0;
  let truncated = false;
  return {
    push(chunk: Buffer): void {
      const room = maxBytes - kept;
      if (chunk.length > room) truncated = true;
      if (room <= 0) return;
      const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
      chunks.push(part);
      kept += part.length;
    },
    result(): { text: string; truncated: boolean } {
      const bytes = Buffer.concat(chunks);
      // StringDecoder.write holds back an incomplete trailing character instead of emitting U+FFFD for it.
      return { text: truncated ? new StringDecoder('utf8').write(bytes) : bytes.toString('utf8'), truncated };
    },
  };
}
