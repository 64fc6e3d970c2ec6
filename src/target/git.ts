import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface GitOptions {
  maxBuffer?: number;
  /** Added to git's minimal environment (remote credentials, fixed commit dates); never logged. */
  env?: Readonly<Record<string, string>>;
}

/**
 * Runs git with the target repository's own hooks and config-driven helpers disabled: a hook is target-controlled
 * code, and target code runs only inside the sandbox. Throws with git's stderr on failure.
 */
export async function git(cwd: string, args: string[], opts: GitOptions = {}): Promise<string> {
  try {
    const { stdout } = await run(
      'git',
      ['-c', 'core.hooksPath=/dev/null', '-c', 'core.fsmonitor=false', '-c', 'protocol.file.allow=always', ...args],
      {
        cwd,
        maxBuffer: opts.maxBuffer ?? 32 * 1024 * 1024,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: process.env.HOME ?? '/tmp',
          GIT_TERMINAL_PROMPT: '0',
          LANG: 'C.UTF-8',
          ...opts.env,
        },
      },
    );
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`git ${args[0] ?? ''} failed in ${cwd}: ${(e.stderr ?? e.message).trim()}`, { cause: err });
  }
}
