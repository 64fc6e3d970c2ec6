import type { SandboxCgroupMode, SandboxInfo, SandboxIsolation, SandboxLimits } from './types';

export interface ModeFacts {
  isolation: SandboxIsolation;
  limits: SandboxLimits;
  cgroup: SandboxCgroupMode;
  /** Why no cgroup is used, when none is. */
  cgroupReason?: string;
  /** The worker's uid: RLIMIT_NPROC never applies to uid 0. */
  uid: number;
}

/**
 * States what the active mode does not guarantee, one sentence per gap, so operators (readyz, the API, stored runs)
 * see the sandbox's real strength instead of a mode name. Pure; never throws.
 */
export function describeSandbox(facts: ModeFacts): SandboxInfo {
  const warnings: string[] = [];
  if (facts.isolation === 'process') {
    warnings.push(
      "no filesystem isolation: a run can read and write whatever the worker's user can (the product's .env, DATA_DIR, other runs' worktrees, /etc/shadow as root)",
      'no network isolation: every run can open connections, whatever its network option says',
      "no pid namespace: a run can see and signal the worker's processes",
    );
  }
  if (facts.cgroup === 'none') {
    const why = facts.cgroupReason === undefined ? '' : ` (${facts.cgroupReason})`;
    warnings.push(
      `no per-run cgroup${why}: memory is limited per process (RLIMIT_DATA), not for a run's whole process tree`,
    );
    warnings.push(
      facts.uid === 0
        ? 'process count NOT limited: RLIMIT_NPROC is never enforced for root and there is no cgroup, so a fork bomb runs until the timeout'
        : `process count limited by RLIMIT_NPROC, which counts every process of uid ${facts.uid} on this machine, not only the run's`,
    );
    if (facts.isolation === 'process') {
      warnings.push(
        'whole-tree kill is best effort: a detached (setsid) descendant is found by a marker variable in its environment and survives if it re-executes itself without it',
      );
    }
  }
  return { isolation: facts.isolation, limits: { ...facts.limits }, cgroup: facts.cgroup, warnings };
}
