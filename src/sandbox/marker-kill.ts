import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** The variable that marks every process of one run in the process-mode fallback without a cgroup. */
export const RUN_MARKER_VARIABLE = 'LVLUP_SANDBOX_RUN';

const ROUNDS = 20;

/**
 * The fallback's whole-tree kill when there is neither a pid namespace nor a cgroup: a `setsid`-detached descendant
 * leaves the run's process group, but it still carries the run's marker variable in its environment, so every
 * process whose initial environment holds `LVLUP_SANDBOX_RUN=<runId>` gets SIGKILL, round after round until none is
 * left. A descendant that re-executes itself with a scrubbed environment is not found: this is best effort, and the
 * sandbox's info says so. Never throws.
 */
export async function killMarkedProcesses(runId: string): Promise<number> {
  const needle = Buffer.from(`\0${RUN_MARKER_VARIABLE}=${runId}\0`);
  let killed = 0;
  for (let round = 0; round < ROUNDS; round += 1) {
    const pids = await findMarked(needle);
    if (pids.length === 0) return killed;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        killed += 1;
      } catch {
        // ESRCH: gone already.
      }
    }
    await sleep(20);
  }
  return killed;
}

async function findMarked(needle: Buffer): Promise<number[]> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const found: number[] = [];
  await Promise.all(
    entries.map(async (entry) => {
      const pid = Number(entry);
      if (!Number.isInteger(pid) || pid === process.pid) return;
      const environ = await readFile(`/proc/${pid}/environ`).catch(() => undefined);
      // Prefixed with NUL so the first variable matches too, and so a longer run id never matches a shorter one.
      if (environ !== undefined && Buffer.concat([Buffer.from([0]), environ]).includes(needle)) found.push(pid);
    }),
  );
  return found;
}
