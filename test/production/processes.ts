import { spawn, type ChildProcess } from 'node:child_process';
import { ROOT } from './dist';

/** The lines a process printed, kept for the failure report (the last {@link KEEP_LINES}). */
const KEEP_LINES = 400;

export interface Proc {
  readonly name: string;
  readonly pid: number;
  readonly exited: boolean;
  /** Resolves with the exit code (or signal) once the process is gone. */
  readonly done: Promise<number | string>;
  /** Resolves with the first output line matching `pattern`; rejects with its log if the process exits first or `timeoutMs` passes. */
  line(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
}

interface Entry {
  proc: Proc;
  child: ChildProcess;
  lines: string[];
  waiters: Set<() => void>;
}

/**
 * The OS processes of one test: each `node <script>` spawned in a process group of its own (detached) with exactly
 * the environment given plus PATH/HOME/USER, its stdout and stderr kept line by line. `kill` signals the whole group;
 * `stopAll` ends every group still running (SIGTERM, then SIGKILL after a grace period) and, should the test process
 * itself exit first, an exit hook SIGKILLs them: no orphan survives the test.
 */
export class Processes {
  private readonly entries: Entry[] = [];
  private readonly onExit = () => {
    for (const e of this.entries) if (!e.proc.exited) signalGroup(e.proc.pid, 'SIGKILL');
  };

  constructor(private readonly baseEnv: Record<string, string>) {
    process.once('exit', this.onExit);
  }

  /** Spawns `node <script> [args]` (a path relative to the project). */
  start(name: string, script: string, env: Record<string, string> = {}, args: string[] = []): Proc {
    return this.spawn(name, process.execPath, [script, ...args], env);
  }

  /** Spawns any `command` (a binary) the same way. */
  spawn(name: string, command: string, args: string[], env: Record<string, string> = {}): Proc {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/tmp',
        USER: process.env.USER ?? 'lvlup',
        ...this.baseEnv,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    if (child.pid === undefined) throw new Error(`${name}: spawn failed`);
    const lines: string[] = [];
    const waiters = new Set<() => void>();
    let exited = false;
    const done = new Promise<number | string>((resolve) => {
      child.once('close', (code, signal) => {
        exited = true;
        lines.push(`[exited: ${code ?? signal}]`);
        for (const w of waiters) w();
        resolve(code ?? signal ?? 'unknown');
      });
    });
    const collect = (stream: NodeJS.ReadableStream | null) => {
      let partial = '';
      stream?.on('data', (chunk: Buffer) => {
        const parts = (partial + chunk.toString()).split('\n');
        partial = parts.pop() ?? '';
        lines.push(...parts);
        if (lines.length > KEEP_LINES) lines.splice(0, lines.length - KEEP_LINES);
        for (const w of waiters) w();
      });
    };
    collect(child.stdout);
    collect(child.stderr);
    const pid = child.pid;
    const proc: Proc = {
      name,
      pid,
      get exited() {
        return exited;
      },
      done,
      line: (pattern, timeoutMs) =>
        new Promise((resolve, reject) => {
          let timer: NodeJS.Timeout | undefined = undefined;
          const check = () => {
            const match = lines.map((l) => pattern.exec(l)).find((m) => m !== null);
            if (match !== undefined) finish(() => resolve(match));
            else if (exited)
              finish(() => reject(new Error(`${name} exited before printing ${pattern}:\n${lines.join('\n')}`)));
          };
          const finish = (then: () => void) => {
            clearTimeout(timer);
            waiters.delete(check);
            then();
          };
          timer = setTimeout(
            () =>
              finish(() =>
                reject(new Error(`${name} printed no ${pattern} within ${timeoutMs} ms:\n${lines.join('\n')}`)),
              ),
            timeoutMs,
          );
          waiters.add(check);
          check();
        }),
    };
    this.entries.push({ proc, child, lines, waiters });
    return proc;
  }

  /** Runs a one-shot `node <script>` to its end; throws with its output unless it exits 0, else answers the output. */
  run(name: string, script: string, env: Record<string, string> = {}, args: string[] = []): Promise<string> {
    return this.finished(this.start(name, script, env, args));
  }

  /** Runs a one-shot binary to its end, the same way. */
  runCommand(name: string, command: string, args: string[], env: Record<string, string> = {}): Promise<string> {
    return this.finished(this.spawn(name, command, args, env));
  }

  private async finished(proc: Proc): Promise<string> {
    const code = await proc.done;
    const output = this.log(proc);
    if (code !== 0) throw new Error(`${proc.name} exited ${code}:\n${output}`);
    return output;
  }

  /** Sends `signal` to the process's whole group and waits until the process is gone. */
  async kill(proc: Proc, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!proc.exited) signalGroup(proc.pid, signal);
    await proc.done;
  }

  /** Ends every process group still running: SIGTERM (their shutdown code runs), SIGKILL after `graceMs`. */
  async stopAll(graceMs = 10_000): Promise<void> {
    const running = this.entries.filter((e) => !e.proc.exited);
    for (const e of running) signalGroup(e.proc.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      for (const e of running) signalGroup(e.proc.pid, 'SIGKILL');
    }, graceMs);
    await Promise.all(running.map((e) => e.proc.done));
    clearTimeout(timer);
    // A group may outlive its leader (a child it spawned): those get SIGKILL too.
    for (const e of this.entries) signalGroup(e.proc.pid, 'SIGKILL');
    process.removeListener('exit', this.onExit);
  }

  /** One process's kept output. */
  log(proc: Proc): string {
    return this.entries.find((e) => e.proc === proc)?.lines.join('\n') ?? '';
  }

  /** Every process's kept output (the lines `keep` accepts), each under its name: what a failure prints. */
  logs(keep: (line: string) => boolean = () => true): string {
    return this.entries
      .map(
        (e) =>
          `----- ${e.proc.name} (pid ${e.proc.pid}${e.proc.exited ? ', exited' : ''}) -----\n${e.lines.filter(keep).join('\n')}`,
      )
      .join('\n');
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone
  }
}
