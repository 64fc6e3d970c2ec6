import type { MikroORM } from '@mikro-orm/postgresql';
import type { Histogram } from 'prom-client';

/** The statement kinds of `db_query_duration_seconds`. */
export type QueryKind = 'select' | 'insert' | 'update' | 'delete' | 'other';

interface KnexQuery {
  __knexQueryUid?: string;
  sql?: string;
  method?: string;
}

const instrumented = new WeakSet<object>();
const OPEN_MAX = 10_000;

/** The kind of a statement from knex's method, or for raw SQL its first keyword (a `with` is read as a select unless it writes). */
export function queryKind(q: KnexQuery): QueryKind {
  const method = q.method === 'del' ? 'delete' : q.method === 'first' || q.method === 'pluck' ? 'select' : q.method;
  if (method === 'select' || method === 'insert' || method === 'update' || method === 'delete') return method;
  const sql = (q.sql ?? '').trimStart().toLowerCase();
  const word = /^\(*\s*([a-z]+)/.exec(sql)?.[1];
  if (word === 'select' || word === 'insert' || word === 'update' || word === 'delete') return word;
  if (word === 'with') {
    const writes = /\b(insert|update|delete)\b/.exec(sql)?.[1] as QueryKind | undefined;
    return writes ?? 'select';
  }
  return 'other';
}

/**
 * Feeds `histogram` with the duration of every statement the ORM's connection sends (knex's `query` → `query-response`
 * / `query-error` events): real queries, not probes. The time runs from sending to the answer (a connection is
 * already held: pool wait is not included). Once per ORM (the API and a worker in one process share it).
 */
export function instrumentQueries(orm: MikroORM, histogram: Histogram<'kind'>): void {
  const knex = orm.em.getConnection().getKnex();
  if (instrumented.has(knex)) return;
  instrumented.add(knex);
  const open = new Map<string, bigint>();
  knex.on('query', (q: KnexQuery) => {
    if (q.__knexQueryUid === undefined) return;
    if (open.size >= OPEN_MAX) open.clear(); // never unbounded, whatever the driver does with a lost query
    open.set(q.__knexQueryUid, process.hrtime.bigint());
  });
  const done = (q: KnexQuery | undefined) => {
    const uid = q?.__knexQueryUid;
    if (q === undefined || uid === undefined) return;
    const started = open.get(uid);
    if (started === undefined) return;
    open.delete(uid);
    histogram.observe({ kind: queryKind(q) }, Number(process.hrtime.bigint() - started) / 1e9);
  };
  knex.on('query-response', (_response: unknown, q: KnexQuery) => done(q));
  knex.on('query-error', (_err: unknown, q: KnexQuery) => done(q));
}
