import { ReferenceKind, type EntityClass, type EntityMetadata } from '@mikro-orm/core';
import type { MikroORM } from '@mikro-orm/postgresql';
import { preparedQuery } from './prepared';

export { positional } from './prepared';

/**
 * Read paths that answer in one round trip without the unit of work: one SQL statement on a pooled connection
 * (`preparedQuery`: a prepared statement, values bound as parameters), rows mapped to plain objects shaped like the entity, no identity map, no hydration
 * into managed entities. The hot list/read routes use these (issue 17); writers keep using the entity manager.
 */

/**
 * Runs one parameterised read (`?` placeholders) and returns its rows. Outside a transaction it goes straight to a
 * connection of the ORM's pool as a named prepared statement with bound parameters (`$n`): PostgreSQL parses and plans
 * each distinct statement once per connection instead of on every request, and the request skips the ORM's and
 * knex's per-query work (client-side value escaping, the query builder, logging). The statement is still announced on
 * knex's `query`/`query-response` events, so `db_query_duration_seconds` and anything listening see it as before.
 * It runs on a connection of its own from the pool: never inside a transaction (the read routes are its callers).
 */
export async function readRows<R = Record<string, unknown>>(
  orm: MikroORM,
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  return (await preparedQuery(orm, sql, params)) as R[];
}

const mappers = new WeakMap<EntityMetadata, (row: Record<string, unknown>) => unknown>();

/**
 * Maps a row of `entity`'s table (`select t.*`) to a plain object with the entity's property names and JS types, as
 * the ORM would hydrate them: timestamps (which the PostgreSQL driver leaves as text) become Dates; a property with a
 * custom type (numeric, bigint, json…) goes through its `convertToJSValue`; integers, doubles and booleans come as they are.
 */
export function fromRow<T extends object>(orm: MikroORM, entity: EntityClass<T>, row: Record<string, unknown>): T {
  const meta = orm.getMetadata().get(entity.name) as EntityMetadata;
  let map = mappers.get(meta);
  if (map === undefined) {
    const platform = orm.em.getPlatform();
    const props = meta.props
      .filter((p) => p.kind === ReferenceKind.SCALAR && p.fieldNames?.length === 1)
      .map((p) => {
        const date = p.runtimeType === 'Date' || p.type === 'Date';
        // A custom type converts as hydration would (numeric → number for DecimalType('number'), bigint, json…).
        const type = p.customType;
        const convert = date ? toDate : type ? (v: unknown) => type.convertToJSValue(v, platform) : undefined;
        return { name: p.name, field: p.fieldNames[0] as string, convert };
      });
    map = (r) => {
      const out: Record<string, unknown> = {};
      for (const p of props) {
        const v = r[p.field];
        out[p.name] = v === undefined || v === null || p.convert === undefined ? v : p.convert(v);
      }
      return out;
    };
    mappers.set(meta, map);
  }
  return map(row) as T;
}

/** A timestamp as the driver returns it (text, or a Date from json/other paths) → Date; null stays null. */
export function toDate(v: unknown): Date | null {
  if (v === null || v === undefined) return null;
  return v instanceof Date ? v : new Date(v as string);
}

/**
 * Equality filters as a `where` fragment with its parameters: `[column, value]` pairs, skipped when the value is
 * undefined. Columns are the caller's constants (never input); values are always bound parameters. `equals` is the
 * same filter as `{ column: value }` (without the `t.` alias), which `readPage` uses to read the total from `row_counts`.
 */
export function sqlFilters(pairs: Array<[column: string, value: string | boolean | undefined]>): {
  where: string;
  params: unknown[];
  equals: Record<string, string | boolean>;
} {
  const set = pairs.filter((p): p is [string, string | boolean] => p[1] !== undefined);
  return {
    where: set.length === 0 ? 'true' : set.map(([c]) => `${c} = ?`).join(' and '),
    params: set.map(([, v]) => v),
    equals: Object.fromEntries(set.map(([c, v]) => [c.replace(/^t\./, ''), v])),
  };
}

/**
 * The tables whose row counts `row_counts` keeps, and the columns each is counted by: the same lists as the triggers
 * of migration ReadCountsRollups (a list filtered by equality on these columns only reads its total there).
 */
export const COUNTED_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  exams: ['agent_id', 'status', 'category'],
  findings: ['kind', 'severity', 'status', 'tool'],
  proposals: ['status', 'agent_id'],
  notifications: ['read', 'kind'],
};

/**
 * The total of a list as SQL (with its parameters): from `row_counts` (O(groups), exact: trigger-maintained in the
 * writers' transactions) when every filter is an equality on a counted column; else `count(*)` over the filter.
 */
function totalSql(
  table: string,
  q: { where: string; params: unknown[]; equals?: Record<string, unknown> },
): { sql: string; params: unknown[] } {
  const counted = COUNTED_COLUMNS[table];
  if (counted !== undefined && q.equals !== undefined && Object.keys(q.equals).every((c) => counted.includes(c))) {
    return {
      sql: `select coalesce(sum(rc.rows), 0)::int as __total from row_counts rc where rc.table_name = ? and rc.key @> ?::jsonb`,
      params: [table, JSON.stringify(q.equals)],
    };
  }
  return { sql: `select count(*)::int as __total from "${table}" t where ${q.where}`, params: q.params };
}

/**
 * One round trip for a page and its total: the total and the page are two subqueries of one statement (a left join
 * lateral, so an offset past the end still returns the total, on a single row whose page columns are null). The total
 * comes from `row_counts` when the filter allows (`equals` given, on counted columns only: see COUNTED_COLUMNS), else
 * from `count(*)`. `where` and `orderBy` are SQL fragments written by the caller with `?` placeholders; values go in
 * `params` only; `equals` must be the same filter as `where` (sqlFilters gives both).
 */
export async function readPage<T extends object>(
  orm: MikroORM,
  entity: EntityClass<T>,
  q: {
    where: string;
    params: unknown[];
    equals?: Record<string, unknown>;
    orderBy: string;
    limit: number;
    offset: number;
    extra?: string;
    extraParams?: unknown[];
  },
): Promise<{ rows: Array<{ item: T; row: Record<string, unknown> }>; total: number }> {
  const meta = orm.getMetadata().get(entity.name) as EntityMetadata;
  const total = totalSql(meta.tableName, q);
  const rows = await readRows<Record<string, unknown>>(
    orm,
    `select p.*, c.__total from (${total.sql}) c
       left join lateral (select t.*, true as __row${q.extra ?? ''} from "${meta.tableName}" t where ${q.where} order by ${q.orderBy} limit ? offset ?) p on true`,
    [...total.params, ...(q.extraParams ?? []), ...q.params, q.limit, q.offset],
  );
  return {
    total: Number(rows[0]?.__total ?? 0),
    rows: rows.filter((r) => r.__row === true).map((row) => ({ item: fromRow(orm, entity, row), row })),
  };
}
