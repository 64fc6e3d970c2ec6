import type { MikroORM } from '@mikro-orm/postgresql';

interface Prepared {
  name: string | undefined;
  text: string;
}

/** Statements prepared so far, by their `?` text; bounded (past it a statement runs unnamed: parsed each time). */
const prepared = new Map<string, Prepared>();
const MAX_PREPARED = 200;
let queryUid = 0;

/** `?` placeholders → `$1…$n` (as MikroORM's formatQuery reads them: `\?` is a literal `?`; `??` identifiers are not supported). */
export function positional(sql: string): string {
  let n = 0;
  return sql.replace(/\\\?|\?\??/g, (m) => {
    if (m === '\\?') return '?';
    if (m === '??') throw new Error('preparedQuery: ?? (identifier) placeholders are not supported');
    return `$${++n}`;
  });
}

interface PgConnection {
  query(q: { name?: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
  /** pg's record of the statements this connection has parsed (it skips the Parse message for those). */
  connection?: { parsedStatements?: Record<string, string> };
}

/**
 * One statement on a connection of the ORM's pool, as a named prepared statement with bound parameters: PostgreSQL
 * parses and plans each distinct statement once per connection rather than on every call, and the caller skips the
 * ORM's and knex's per-query work (client-side escaping of every value into the SQL text, the raw builder, logging).
 * The statement is announced on knex's `query` / `query-response` / `query-error` events like any other, so
 * `db_query_duration_seconds` and whatever else listens see it. Autocommit: never part of an ORM transaction.
 * Used by the hot read routes (src/db/read.ts) and the LLM gateway's budget and ledger statements (issue 17).
 */
export async function preparedQuery(orm: MikroORM, sql: string, params: unknown[]): Promise<unknown[]> {
  const connection = orm.em.getConnection();
  await connection.ensureConnection();
  const knex = connection.getKnex();
  let statement = prepared.get(sql);
  if (statement === undefined) {
    statement = {
      name: prepared.size < MAX_PREPARED ? `lvl_prepared_${prepared.size}` : undefined,
      text: positional(sql),
    };
    if (statement.name !== undefined) prepared.set(sql, statement);
  }
  const client = knex.client as {
    acquireConnection(): Promise<PgConnection>;
    releaseConnection(c: PgConnection): Promise<void>;
  };
  const conn = await client.acquireConnection();
  // The shape knex gives its query events (what src/db/query-metrics.ts and tests listen to).
  const event = { __knexQueryUid: `lvl-prepared-${++queryUid}`, sql, bindings: params, method: 'raw' };
  try {
    knex.emit('query', event);
    const query = { name: statement.name, text: statement.text, values: params };
    let res;
    try {
      res = await conn.query(query);
    } catch (err) {
      // A prepared statement whose result shape a migration changed since (`select t.*` after a column was added):
      // dropped on this connection and run once more, parsed afresh.
      if (statement.name === undefined || (err as { code?: string }).code !== '0A000') throw err;
      await conn.query({ text: `deallocate "${statement.name}"`, values: [] });
      delete conn.connection?.parsedStatements?.[statement.name];
      res = await conn.query(query);
    }
    knex.emit('query-response', res, event);
    return res.rows;
  } catch (err) {
    knex.emit('query-error', err, event);
    // The driver's error as it is (with its SQLSTATE `code`), as the connection's `execute` gives it.
    throw err;
  } finally {
    await client.releaseConnection(conn);
  }
}
