/**
 * A readers-writer gate over runs: shared runs go concurrently, an exclusive run waits for those in flight and holds
 * back every run asked for after it (first come, first served, so an exclusive run is never starved). `run` rethrows
 * what its function throws and throws nothing of its own.
 */
export function createRunGate() {
  let active = 0;
  let exclusiveActive = false;
  const queue: Array<{ exclusive: boolean; start: () => void }> = [];
  const pump = () => {
    while (queue.length > 0 && !exclusiveActive) {
      const next = queue[0];
      if (next === undefined || (next.exclusive && active > 0)) return;
      queue.shift();
      active += 1;
      if (next.exclusive) exclusiveActive = true;
      next.start();
    }
  };
  return {
    async run<T>(exclusive: boolean, fn: () => Promise<T>): Promise<T> {
      await new Promise<void>((start) => {
        queue.push({ exclusive, start });
        pump();
      });
      try {
        return await fn();
      } finally {
        active -= 1;
        if (exclusive) exclusiveActive = false;
        pump();
      }
    },
  };
}
