import { Client } from 'pg';
import type { Logger } from '../logger';

/** The channel the `lvl_notify_change` statement triggers publish on; the payload is the table's name. */
export const TABLE_CHANGED_CHANNEL = 'lvl_table_changed';
/** How long a lost LISTEN connection waits before it is opened again (the cache is bypassed meanwhile). */
const RECONNECT_MS = 1000;
/** Distinct answers kept (one per query string); past it the cache starts over. */
const MAX_ENTRIES = 256;
/** No answer is served older than this, so a notification lost with a silently dead connection costs at most this. */
const MAX_AGE_MS = 30_000;

export type TableCacheResult = 'hit' | 'miss' | 'bypass';

/** What the agents' answers read (the list, one agent, the leaderboard): their cache entries' invalidation. */
export const AGENT_TABLES = ['agents', 'agent_skill_ratings'] as const;

/**
 * Read-through cache of answers that depend only on some tables (the agents list: `agents`, `agent_skill_ratings`),
 * kept until PostgreSQL says one of those tables changed. Writers' statement triggers `pg_notify` on commit (migration
 * AgentsChangeFeed) and this process LISTENs on its own connection; a notification drops every answer that read the
 * table. Served only while that connection is up: before it is, and from the moment it is lost until it is back (and
 * the cache emptied), every read goes to the database. An answer loaded while a change arrived is returned but not
 * kept (a generation counter), so an answer read before a commit is never kept after its notification. A write made by
 * this process (`invalidate`) is seen by its next read at once, without waiting for its own notification; another
 * process's commit is seen once its notification arrives (PostgreSQL sends it at commit; milliseconds on one network).
 * A connection that dies silently (no reset seen) is the one blind spot: TCP keep-alive finds it, and no answer is
 * served older than MAX_AGE_MS anyway.
 */
export class TableCache {
  private client: Client | undefined;
  private listening = false;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  private generation = 0;
  /** Said once per outage, not at every retry. */
  private failing = false;
  private readonly entries = new Map<string, { tables: readonly string[]; value: unknown; at: number }>();

  constructor(
    private readonly options: {
      connectionString: string;
      logger: Logger;
      /** Counts each read by how it was served. */
      onRead?: (result: TableCacheResult) => void;
    },
  ) {}

  /** Opens the LISTEN connection in the background; reads bypass the cache until it is up. */
  start(): void {
    void this.connect();
  }

  /** Whether answers are being served from memory (the LISTEN connection is up). */
  get active(): boolean {
    return this.listening;
  }

  /** The answer for `key`, from memory while nothing in `tables` changed since it was loaded, else from `load`. */
  async read<T>(key: string, tables: readonly string[], load: () => Promise<T>): Promise<T> {
    if (!this.listening) {
      this.options.onRead?.('bypass');
      return load();
    }
    const kept = this.entries.get(key);
    if (kept !== undefined && Date.now() - kept.at < MAX_AGE_MS) {
      this.options.onRead?.('hit');
      return kept.value as T;
    }
    this.options.onRead?.('miss');
    const generation = this.generation;
    const value = await load();
    if (this.listening && generation === this.generation) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
      this.entries.set(key, { tables, value, at: Date.now() });
    }
    return value;
  }

  /** Drops every answer that read `table` (a notification, or a write of this process after its commit). */
  invalidate(table: string): void {
    this.generation++;
    for (const [key, entry] of this.entries) if (entry.tables.includes(table)) this.entries.delete(key);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    this.forget();
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new Client({
      connectionString: this.options.connectionString,
      application_name: 'lvlup-api-cache',
      keepAlive: true,
    });
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      this.lost(client, err);
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (msg) => {
      if (msg.channel === TABLE_CHANGED_CHANNEL && msg.payload) this.invalidate(msg.payload);
    });
    try {
      await client.connect();
      await client.query(`listen ${TABLE_CHANGED_CHANNEL}`);
    } catch (err) {
      onLost(err as Error);
      return;
    }
    if (lost) return;
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.forget();
    this.listening = true;
    if (this.failing) this.options.logger.info('the agents cache has its change feed again');
    this.failing = false;
  }

  /** The connection died (or never opened): bypass and empty the cache, then try again. */
  private lost(client: Client, err?: Error): void {
    if (this.client === client) this.client = undefined;
    const wasListening = this.listening;
    this.forget();
    void client.end().catch(() => undefined);
    if (this.closed) return;
    if (!this.failing && (wasListening || err !== undefined)) {
      this.failing = true;
      this.options.logger.warn('the agents cache lost its change feed; reading the database until it is back', {
        error: err?.message ?? 'connection ended',
      });
    }
    this.retry ??= setTimeout(() => {
      this.retry = undefined;
      void this.connect();
    }, RECONNECT_MS).unref();
  }

  private forget(): void {
    this.listening = false;
    this.generation++;
    this.entries.clear();
  }
}
