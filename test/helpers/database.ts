import { randomBytes } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { createOrm } from '../../src/db/orm';
import { testConfig } from './config';
import { adminDatabaseUrl, requiredTestEnv, TEST_ENV } from './env';

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** Runs `fn` on a connection to the server's `postgres` database (creating and dropping databases). */
export async function admin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminDatabaseUrl('postgres') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A database of its own for one test file, cloned from the run's migrated template (fast: a file copy). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `lvlup_t_${requiredTestEnv(TEST_ENV.runId)}_${randomBytes(4).toString('hex')}`;
  const template = requiredTestEnv(TEST_ENV.template);
  await admin((c) => c.query(`create database "${name}" template "${template}"`));
  return {
    url: adminDatabaseUrl(name),
    name,
    drop: () => admin((c) => c.query(`drop database if exists "${name}" with (force)`)).then(() => undefined),
  };
}

/** A completely empty database (no migrations), for testing migrations from scratch. */
export async function createEmptyDatabase(): Promise<TestDatabase> {
  const name = `lvlup_t_${requiredTestEnv(TEST_ENV.runId)}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`create database "${name}"`));
  return {
    url: adminDatabaseUrl(name),
    name,
    drop: () => admin((c) => c.query(`drop database if exists "${name}" with (force)`)).then(() => undefined),
  };
}

/** A fresh database (a clone of the template) and an ORM on it for one test file, both gone after it. */
export function useTestOrm(): { readonly db: TestDatabase; readonly orm: MikroORM } {
  const bed: { db?: TestDatabase; orm?: MikroORM } = {};
  beforeAll(async () => {
    bed.db = await createTestDatabase();
    bed.orm = await createOrm(testConfig(bed.db.url).database);
  });
  afterAll(async () => {
    await bed.orm?.close();
    await bed.db?.drop();
  });
  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is only there inside tests (after beforeAll)`);
    return value;
  };
  return {
    get db() {
      return ready(bed.db, 'the test database');
    },
    get orm() {
      return ready(bed.orm, 'the test ORM');
    },
  };
}
