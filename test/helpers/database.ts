import { randomBytes } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { createOrm } from '../../src/db/orm';
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

/** Registers beforeAll/afterAll for a test file (or block) that needs a database of its own and an ORM on it. */
export function useTestOrm(): () => MikroORM {
  let db: TestDatabase | undefined;
  let orm: MikroORM | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
    orm = await createOrm({ url: db.url, poolSize: 2 });
  });
  afterAll(async () => {
    await orm?.close();
    await db?.drop();
  });
  return () => {
    if (orm === undefined) throw new Error('the test ORM is used before beforeAll ran');
    return orm;
  };
}
