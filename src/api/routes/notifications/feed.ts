import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { Notification } from '../../../db/entities';
import type { Logger } from '../../../logger';

const POLL_MS = 500;
const BATCH = 100;
/** How long a missing seq holds the feed back before it counts as spent (a rolled-back insert, a dedupe conflict). */
const GAP_GRACE_MS = 2000;

let pollersRunning = 0;

/** How many notification pollers run in this process (one per API while any stream is open); for tests and debugging. */
export function notificationPollersRunning(): number {
  return pollersRunning;
}

type Deliver = (notification: Notification) => void;

interface Subscriber {
  /** the seq of the last notification delivered (or skipped as older than the subscription) */
  cursor: bigint;
  /** false while catching up from its own cursor; the poller delivers only to live subscribers */
  live: boolean;
  deliver: Deliver;
}

/**
 * Fans new notifications out to every open stream from ONE poller (`seq > cursor order by seq limit 100` every
 * 500 ms), which runs only while at least one stream is open. A seq is taken at insert but becomes visible at commit,
 * so a missing number may still appear: the poller waits up to 2 s for it before passing it, which keeps every stream
 * in seq order and `Last-Event-ID` exact.
 */
export class NotificationFeed {
  private readonly subscribers = new Set<Subscriber>();
  private cursor = 0n;
  private running = false;
  private starting: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private gapSince: number | undefined;
  private failing = false;

  constructor(
    private readonly orm: MikroORM,
    private readonly logger: Logger,
  ) {}

  /**
   * Delivers, in seq order, the notifications after `after` (none before now when it is undefined), then every new
   * one, until the returned function is called. Resolves once caught up; throws when the database cannot be read.
   */
  async subscribe(after: bigint | undefined, deliver: Deliver): Promise<() => void> {
    const sub: Subscriber = { cursor: 0n, live: false, deliver };
    const unsubscribe = () => this.unsubscribe(sub);
    this.subscribers.add(sub);
    try {
      await this.start();
      sub.cursor = after ?? (await this.currentSeq());
      await this.catchUp(sub);
    } catch (err) {
      unsubscribe();
      throw err;
    }
    return unsubscribe;
  }

  private unsubscribe(sub: Subscriber): void {
    if (!this.subscribers.delete(sub)) return;
    // A poll in flight (no timer) stops the poller itself when it ends.
    if (this.subscribers.size === 0 && this.timer !== undefined) this.stop();
  }

  /** Starts the poller at the newest seq unless it runs already. */
  private start(): Promise<void> {
    if (this.running) return Promise.resolve();
    this.starting ??= this.currentSeq()
      .then((max) => {
        this.cursor = max;
        this.gapSince = undefined;
        this.running = true;
        pollersRunning++;
        this.schedule();
      })
      .finally(() => {
        this.starting = undefined;
      });
    return this.starting;
  }

  private stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.running) return;
    this.running = false;
    pollersRunning--;
  }

  private schedule(): void {
    this.timer = setTimeout(() => void this.poll(), POLL_MS);
  }

  private async poll(): Promise<void> {
    this.timer = undefined;
    if (this.subscribers.size > 0) {
      try {
        this.fanOut(await this.fetch(this.cursor));
        this.failing = false;
      } catch (err) {
        if (!this.failing) this.logger.warn('cannot poll notifications; retrying', { err: String(err) });
        this.failing = true;
      }
    }
    if (this.subscribers.size > 0) this.schedule();
    else this.stop();
  }

  /** Advances the cursor over `rows` (in seq order), stopping at a young gap, and hands each row to the live subscribers. */
  private fanOut(rows: Notification[]): void {
    for (const row of rows) {
      const seq = seqOf(row);
      if (seq !== this.cursor + 1n) {
        this.gapSince ??= Date.now();
        if (Date.now() - this.gapSince < GAP_GRACE_MS) return;
      }
      this.gapSince = undefined;
      this.cursor = seq;
      for (const sub of this.subscribers) if (sub.live) deliverTo(sub, row);
    }
  }

  /**
   * Brings a new subscriber from its own cursor up to the poller's, in pages, then makes it live. The last check and
   * the switch to live happen without an await between them, so no row falls between catch-up and live delivery.
   */
  private async catchUp(sub: Subscriber): Promise<void> {
    while (this.subscribers.has(sub)) {
      const upTo = this.cursor;
      if (sub.cursor >= upTo) {
        sub.live = true;
        return;
      }
      const rows = await this.fetch(sub.cursor, upTo);
      for (const row of rows) deliverTo(sub, row);
      if (rows.length < BATCH) sub.cursor = upTo;
    }
  }

  private fetch(after: bigint, upTo?: bigint): Promise<Notification[]> {
    const seq = upTo === undefined ? { $gt: String(after) } : { $gt: String(after), $lte: String(upTo) };
    return (this.orm.em.fork() as EntityManager).find(Notification, { seq }, { orderBy: { seq: 'asc' }, limit: BATCH });
  }

  /**
   * "Now" in seq terms: the last number the sequence handed out (rows still in flight with a lower one count as
   * earlier), or the newest row's when the sequence has not been used since it was set. Starting from the newest row
   * alone would make a number spent after it (a dedupe conflict, a deleted row) hold the first new one back.
   */
  private async currentSeq(): Promise<bigint> {
    const row = await this.orm.em.getConnection().execute<{
      seq: string;
    }>(`select greatest(coalesce(pg_sequence_last_value(pg_get_serial_sequence('notifications', 'seq')::regclass), 0), coalesce((select max(seq) from notifications), 0))::text as seq`, [], 'get');
    return BigInt(row.seq);
  }
}

function deliverTo(sub: Subscriber, row: Notification): void {
  const seq = seqOf(row);
  if (seq <= sub.cursor) return;
  sub.cursor = seq;
  sub.deliver(row);
}

/** The row's seq (the driver hands a bigint column over as a bigint or a string). */
function seqOf(row: Notification): bigint {
  return BigInt(row.seq ?? 0);
}
