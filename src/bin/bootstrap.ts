import type { MikroORM } from '@mikro-orm/postgresql';
import { bootstrapAdminKey } from '../auth/api-keys';
import type { Config } from '../config';
import { syncTargetRepository } from '../db/repositories';
import { resolveTargetRepository } from '../target';
import type { Logger } from '../logger';

/** Start-up data every process may need: the bootstrap admin key and the target repository (and its row). Idempotent. */
export async function bootstrapData(orm: MikroORM, config: Config, logger: Logger): Promise<void> {
  const em = orm.em.fork();
  if (await bootstrapAdminKey(em, config.api.adminApiKey)) logger.info('stored ADMIN_API_KEY as the bootstrap admin key');
  const target = await resolveTargetRepository(config);
  const repo = await syncTargetRepository(em, { repoPath: target.path, testCmd: target.testCmd, benchCmd: target.benchCmd });
  if (repo !== null) logger.info(`target repository ${repo.path}${target.example ? ' (the example target, copied from examples/target)' : ''}`);
}
