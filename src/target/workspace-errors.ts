import type { SandboxRunResult } from '../sandbox';

/** Both are permanent for the commit at hand: running the same setup or command again gives the same answer. */
export const WORKSPACE_ERROR_TYPES = {
  /** The dependencies could not be installed (install failure, missing package manager, offline cache miss, timeout). */
  setupFailed: 'TargetSetupFailed',
  /** A test or bench command could not start (exit 126/127, a missing npm script, a missing entry file). */
  commandUnavailable: 'TargetCommandUnavailable',
} as const;
export type WorkspaceErrorType = (typeof WORKSPACE_ERROR_TYPES)[keyof typeof WORKSPACE_ERROR_TYPES];

/** `retryable` only for trouble that may pass (the registry unreachable during an install); the rest is permanent. */
export class WorkspaceError extends Error {
  readonly retryable: boolean;
  constructor(
    readonly type: WorkspaceErrorType,
    message: string,
    opts: { retryable?: boolean } = {},
  ) {
    super(message);
    this.name = type;
    this.retryable = opts.retryable ?? false;
  }
}

/**
 * Why a finished command never really ran, or undefined when it did (exit 0, or a failure with results). Only precise
 * signs count: the shell's 126/127, npm's and yarn's own "missing script", "no package.json" and "exit 127" reports,
 * and node failing to find its entry file — a test suite whose assertions mention ENOENT is still a test suite.
 */
export function cannotStart(result: SandboxRunResult): string | undefined {
  if (result.timedOut || result.exitCode === null || result.exitCode === 0) return undefined;
  const err = result.stderr;
  if (result.exitCode === 127) return 'command not found (exit 127)';
  if (result.exitCode === 126) return 'command not executable (exit 126)';
  if (/^npm (?:ERR!|error) Missing script:/m.test(err)) return `missing npm script (exit ${result.exitCode})`;
  if (/^npm (?:ERR!|error) (?:code ENOENT|enoent )/m.test(err))
    return `npm could not find a file it needs (ENOENT, exit ${result.exitCode})`;
  if (/^error Command "[^"]+" not found\.?$/m.test(err)) return `missing yarn script (exit ${result.exitCode})`;
  if (/^error Command failed with exit code 12[67]\.?$/m.test(err))
    return `command not found or not executable under yarn (exit ${result.exitCode})`;
  if (/^Error: Cannot find module '[^']+'$/m.test(err) && /requireStack: \[\]/.test(err))
    return `node could not find the entry file (exit ${result.exitCode})`;
  return undefined;
}

/**
 * A command's output for a failure reason, at most about `max` characters: stdout then stderr, and when longer, its
 * beginning and its end (an installer states the cause first and its usage text last).
 */
export function outputTail(result: Pick<SandboxRunResult, 'stdout' | 'stderr'>, max = 800): string {
  const text = `${result.stdout.trim()}\n${result.stderr.trim()}`.trim();
  if (text.length <= max) return text;
  const half = Math.floor(max / 2);
  return `${text.slice(0, half)} … ${text.slice(-half)}`;
}
