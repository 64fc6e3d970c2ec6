import type { Logger } from '../../../logger';

/** What a workflow event stream shows: Temporal's status and the last progress known. */
export interface WorkflowUpdate<P = unknown> {
  status: string;
  progress: P | null;
}

/** One stream following a workflow. */
export interface WorkflowSubscriber<P = unknown> {
  /** a `progress` event: status or progress changed */
  progress(update: WorkflowUpdate<P>): void;
  /** the workflow ended: the `end` event; the subscriber is dropped after it */
  end(update: WorkflowUpdate<P>): void;
}

export interface WorkflowWatchersOptions<P> {
  /** One poll: the workflow's status and its progress (null when it cannot be queried). Throws when unreadable. */
  read(workflowId: string): Promise<{ status: string; progress: P | null }>;
  /** Whether a status is terminal (the poll loop ends there). */
  terminal(status: string): boolean;
  pollMs: number;
  logger: Logger;
}

interface Watch<P> {
  subscribers: Set<WorkflowSubscriber<P>>;
  /** the last update polled (sent to a subscriber that joins later at once) */
  latest: WorkflowUpdate<P> | undefined;
  /** what each subscriber was last sent, to send only changes */
  sent: Map<WorkflowSubscriber<P>, string>;
  stop: AbortController;
}

/**
 * ONE poll loop per workflow id, however many streams follow it: the first subscriber starts it, every poll fans out
 * to all subscribers (each gets a `progress` only when what it last saw changed), and the loop stops when the last
 * subscriber leaves or the workflow ends (every subscriber then gets `end`). A subscriber joining a running loop gets
 * the latest state at once.
 */
export class WorkflowWatchers<P = unknown> {
  private readonly watches = new Map<string, Watch<P>>();

  constructor(private readonly opts: WorkflowWatchersOptions<P>) {}

  /** How many poll loops run (one per followed workflow); for tests and debugging. */
  get running(): number {
    return this.watches.size;
  }

  /** Follows `workflowId` until the returned function is called or the workflow ends. */
  subscribe(workflowId: string, subscriber: WorkflowSubscriber<P>): () => void {
    let watch = this.watches.get(workflowId);
    if (watch === undefined) {
      watch = { subscribers: new Set(), latest: undefined, sent: new Map(), stop: new AbortController() };
      this.watches.set(workflowId, watch);
      void this.loop(workflowId, watch);
    }
    watch.subscribers.add(subscriber);
    if (watch.latest !== undefined) this.deliver(watch, subscriber, watch.latest);
    const joined = watch;
    return () => this.leave(workflowId, joined, subscriber);
  }

  private leave(workflowId: string, watch: Watch<P>, subscriber: WorkflowSubscriber<P>): void {
    watch.subscribers.delete(subscriber);
    watch.sent.delete(subscriber);
    if (watch.subscribers.size === 0 && this.watches.get(workflowId) === watch) {
      this.watches.delete(workflowId);
      watch.stop.abort();
    }
  }

  private deliver(watch: Watch<P>, subscriber: WorkflowSubscriber<P>, update: WorkflowUpdate<P>): void {
    if (this.opts.terminal(update.status)) {
      watch.subscribers.delete(subscriber);
      watch.sent.delete(subscriber);
      subscriber.end(update);
      return;
    }
    const serialized = JSON.stringify(update);
    if (watch.sent.get(subscriber) === serialized) return;
    watch.sent.set(subscriber, serialized);
    subscriber.progress(update);
  }

  private async loop(workflowId: string, watch: Watch<P>): Promise<void> {
    const log = this.opts.logger;
    let failing = false;
    while (!watch.stop.signal.aborted) {
      try {
        const { status, progress } = await this.opts.read(workflowId);
        failing = false;
        const update: WorkflowUpdate<P> = { status, progress: progress ?? watch.latest?.progress ?? null };
        watch.latest = update;
        if (watch.stop.signal.aborted) return;
        for (const subscriber of [...watch.subscribers]) this.deliver(watch, subscriber, update);
        if (this.opts.terminal(status)) {
          if (this.watches.get(workflowId) === watch) this.watches.delete(workflowId);
          watch.stop.abort();
          return;
        }
      } catch (err) {
        if (!failing)
          log.warn('cannot read the workflow for its event stream; retrying', { workflowId, err: String(err) });
        failing = true;
      }
      await pause(this.opts.pollMs, watch.stop.signal);
    }
  }
}

/** Waits `ms`, or less when `signal` aborts first. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
