import { queryKind } from '../../src/db/query-metrics';

/** The `kind` label of db_query_duration_seconds: knex's method when it has one, else the statement's first keyword. */
it.each([
  [{ method: 'select', sql: 'select 1' }, 'select'],
  [{ method: 'first', sql: 'select * from agents limit 1' }, 'select'],
  [{ method: 'insert', sql: 'insert into x values (1)' }, 'insert'],
  [{ method: 'update', sql: 'update x set a = 1' }, 'update'],
  [{ method: 'del', sql: 'delete from x' }, 'delete'],
  [{ method: 'raw', sql: '  SELECT p.*, c.__total from …' }, 'select'],
  [{ method: 'raw', sql: '(select 1) union (select 2)' }, 'select'],
  [{ method: 'raw', sql: 'with totals as (select 1) select * from totals' }, 'select'],
  [{ method: 'raw', sql: 'with moved as (delete from x returning *) insert into y select * from moved' }, 'delete'],
  [{ method: 'raw', sql: 'insert into "api_keys" ("id") values ($1) on conflict do nothing' }, 'insert'],
  [{ method: 'raw', sql: 'begin' }, 'other'],
  [{ sql: 'set statement_timeout = 1000' }, 'other'],
  [{}, 'other'],
])('%j is %s', (q, kind) => {
  expect(queryKind(q)).toBe(kind);
});
