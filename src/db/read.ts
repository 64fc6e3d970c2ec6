import { ReferenceKind, type EntityClass, type EntityMetadata } from '@mikro-orm/core';
import type { MikroORM } from '@mikro-orm/postgresql';

/**
 * Read paths that answer in one round trip without the unit of work: one SQL statement through the connection
 * (`execute`, parameters only), rows mapped to plain objects shaped like the entity, no identity map, no hydration
 * into managed entities. The hot list/read routes use these (issue 17); writers keep using the entity manager.
 */

/** Runs one parameterised statement (`?` placeholders) and returns its rows. */
export async function readRows<R = Record<string, unknown>>(orm: MikroORM, sql: string, params: unknown[] = []): Promise<R[]> {
  return (await orm.em.getConnection().execute(sql, params as never[], 'all')) as R[];
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
 * undefined. Columns are the caller's constants (never input); values are always bound parameters.
 */
export function sqlFilters(pairs: Array<[column: string, value: string | boolean | undefined]>): { where: string; params: unknown[] } {
  const set = pairs.filter(([, v]) => v !== undefined);
  return { where: set.length === 0 ? 'true' : set.map(([c]) => `${c} = ?`).join(' and '), params: set.map(([, v]) => v) };
}

/**
 * One round trip for a page and its total: the count and the page are two subqueries of one statement (a left join
 * lateral, so an offset past the end still returns the total, on a single row whose page columns are null).
 * `where` and `orderBy` are SQL fragments written by the caller with `?` placeholders; values go in `params` only.
 */
export async function readPage<T extends object>(
  orm: MikroORM,
  entity: EntityClass<T>,
  q: { where: string; params: unknown[]; orderBy: string; limit: number; offset: number; extra?: string; extraParams?: unknown[] },
): Promise<{ rows: Array<{ item: T; row: Record<string, unknown> }>; total: number }> {
  const meta = orm.getMetadata().get(entity.name) as EntityMetadata;
  const table = `"${meta.tableName}"`;
  const rows = await readRows<Record<string, unknown>>(
    orm,
    `select p.*, c.__total from (select count(*)::int as __total from ${table} t where ${q.where}) c
       left join lateral (select t.*, true as __row${q.extra ?? ''} from ${table} t where ${q.where} order by ${q.orderBy} limit ? offset ?) p on true`,
    [...q.params, ...(q.extraParams ?? []), ...q.params, q.limit, q.offset],
  );
  const total = Number(rows[0]?.__total ?? 0);
  return { total, rows: rows.filter((r) => r.__row === true).map((row) => ({ item: fromRow(orm, entity, row), row })) };
}
