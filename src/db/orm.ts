import path from 'node:path';
import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { Client } from 'pg';
import type { Config } from '../config';
import { ENTITIES } from './entities';
import { MIGRATIONS } from '../../migrations';

const MIGRATIONS_DIR = path.resolve(__dirname, '../../migrations');

/** MikroORM options for the configured database; migrations come from the committed list, not a folder scan. */
export function ormOptions(database: Config['database']): Options {
  return {
    clientUrl: database.url,
    entities: ENTITIES,
    pool: { min: 0, max: database.poolSize },
    forceUtcTimezone: true,
    allowGlobalContext: false,
    discovery: { warnWhenNoEntities: true },
    extensions: [Migrator],
    migrations: {
      tableName: 'mikro_orm_migrations',
      path: MIGRATIONS_DIR,
      pathTs: MIGRATIONS_DIR,
      emit: 'ts',
      snapshot: true,
      snapshotName: '.snapshot-lvlup',
      silent: true,
      transactional: true,
      allOrNothing: true,
      migrationsList: MIGRATIONS,
    },
  };
}

/** Opens the ORM (the pool connects lazily, so an unreachable database does not stop the process starting). */
export async function createOrm(database: Config['database']): Promise<MikroORM> {
  return MikroORM.init({ ...ormOptions(database), connect: false });
}

/** Creates the database named in `url` when it does not exist yet; returns whether it was created. */
export async function ensureDatabase(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const client = new Client({ connectionString: maintenance.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount !== null && found.rowCount > 0) return false;
    await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    return true;
  } catch (err) {
    // Two processes starting together may both try; the loser sees duplicate_database and that is fine.
    if (err instanceof Error && 'code' in err && err.code === '42P04') return false;
    throw err;
  } finally {
    await client.end();
  }
}

/** Applies every pending migration in one transaction; returns the names applied. */
export async function runMigrations(orm: MikroORM): Promise<string[]> {
  const applied = await orm.getMigrator().up();
  return applied.map((m) => m.name);
}
