import { loadConfig } from '../config';
import { createLogger } from '../logger';
import { createOrm, ensureDatabase, runMigrations } from '../db/orm';
import { runMain } from './run-main';

/**
 * `npm run migrate` creates the database if missing and applies pending migrations.
 * `npm run migrate -- create [name]` diffs the entities against the snapshot and writes a new migration file.
 */
runMain(async () => {
  const config = loadConfig();
  const logger = createLogger(config.log).child({ component: 'migrate' });
  if (await ensureDatabase(config.database.url)) logger.info('created database');
  const orm = await createOrm(config.database);
  try {
    if (process.argv[2] === 'create') {
      const result = await orm.getMigrator().createMigration(undefined, false, false, process.argv[3]);
      logger.info(
        result.fileName ? `wrote migrations/${result.fileName}; add it to migrations/index.ts` : 'no changes',
      );
      return;
    }
    const applied = await runMigrations(orm);
    logger.info(applied.length > 0 ? `applied ${applied.join(', ')}` : 'database is up to date');
  } finally {
    await orm.close();
  }
});
