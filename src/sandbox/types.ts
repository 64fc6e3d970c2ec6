/** How a run was contained: `bwrap` (namespaces, minimal read-only binds, no network) or `process` (limits only). */
export type SandboxIsolation = 'bwrap' | 'process';

export interface SandboxRunRequest {
  /** The program, resolved on the sandbox's PATH (which starts with the directory of the running `node`). */
  command: string;
  /** Passed as an array, never through a shell. */
  args: string[];
  /** The one writable directory: absolute and existing. It is also HOME and the working directory. */
  cwd: string;
  /** Wall clock; at the limit the whole process tree is killed. */
  timeoutMs: number;
  /**
   * Data-segment limit (RLIMIT_DATA) per process and, where the run gets a cgroup, the memory of its whole process
   * tree; defaults to the sandbox's limit.
   */
  memoryMb?: number;
  /** CPU-time limit (RLIMIT_CPU) per process; defaults to the sandbox's limit. */
  cpuSeconds?: number;
  /** Added to the clean environment (PATH, HOME, LANG); nothing else of the parent's environment is passed. */
  env?: Record<string, string>;
  stdin?: string;
  /** Cap per stream; default 64 KiB. */
  maxOutputBytes?: number;
  /**
   * Network access for this run only (a dependency install); default false. Under bwrap the run then shares the host's
   * network and sees the resolver and CA files; every other run has no network at all.
   */
  network?: boolean;
  /** Host directories the run may read (a dependency cache), bound read-only at the same absolute path. */
  readOnlyPaths?: string[];
  /** Host directories the run may write besides `cwd` (a package manager's download cache during setup). */
  writablePaths?: string[];
  /**
   * Run alone: wait until no other run of this sandbox is in flight and start none until this one ends (benchmarks,
   * whose figures must not be skewed by concurrent sandbox work on the same cores).
   */
  exclusive?: boolean;
  /**
   * Aborting it (an activity's cancellation) kills the run's whole process tree, like the timeout; the run then
   * rejects with the signal's reason instead of answering.
   */
  signal?: AbortSignal;
}

export interface SandboxRunResult {
  exitCode: number | null;
  /** The signal that ended the program (e.g. `SIGKILL` at the timeout or the CPU limit), else null. */
  signal: string | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  durationMs: number;
  isolation: SandboxIsolation;
}

/** How runs are contained on this worker, and what that mode does not guarantee (shown to operators). */
export interface SandboxInfo {
  isolation: SandboxIsolation;
  limits: SandboxLimits;
  /** The per-run cgroup that limits and kills a run's whole process tree, or `none` (rlimits and signals only). */
  cgroup: SandboxCgroupMode;
  /** Each promise the current mode does not keep; empty only under bwrap with a cgroup. */
  warnings: string[];
}

export type SandboxCgroupMode = 'v2' | 'v1' | 'none';

export interface Sandbox {
  readonly isolation: SandboxIsolation;
  readonly info: SandboxInfo;
  /** Runs one command to completion (or the timeout); throws SandboxError only for an invalid request. */
  run(req: SandboxRunRequest): Promise<SandboxRunResult>;
}

export interface SandboxLimits {
  memoryMb: number;
  cpuSeconds: number;
  /** Processes (and threads) of one run's tree: pids.max of its cgroup, else RLIMIT_NPROC (never enforced for root). */
  maxProcesses: number;
  /** Largest file a run may write (RLIMIT_FSIZE), per file. */
  maxFileMb: number;
}

/** Both are permanent: retrying the same request on the same machine cannot help. */
export const SANDBOX_ERROR_TYPES = {
  /** Isolation is required (SANDBOX_REQUIRE_ISOLATION=true) but bubblewrap cannot run here. */
  unavailable: 'SandboxUnavailable',
  /** The request itself is unusable (cwd not an absolute existing directory, a non-positive limit, …). */
  invalidRequest: 'SandboxInvalidRequest',
} as const;
export type SandboxErrorType = (typeof SANDBOX_ERROR_TYPES)[keyof typeof SANDBOX_ERROR_TYPES];

export class SandboxError extends Error {
  constructor(
    readonly type: SandboxErrorType,
    message: string,
  ) {
    super(message);
    this.name = type;
  }
}
