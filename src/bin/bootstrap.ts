import type { MikroORM } from '@mikro-orm/postgresql';
import { bootstrapAdminKey } from '../auth/api-keys';
import type { Config } from '../config';
import { syncTargetRepository } from '../db/repositories';
import { resolveTargetRepository, targetIdentity } from '../target';
import type { Logger } from '../logger';

/**
 * Start-up data every process may need: the bootstrap admin key and the target repository's row. A local target is
 * checked (the example copied) here; a remote one is only named — the workers clone their own mirrors. Idempotent.
 */
export async function bootstrapData(orm: MikroORM, config: Config, logger: Logger): Promise<void> {
  const em = orm.em.fork();
  if (await bootstrapAdminKey(em, config.api.adminApiKey))
    logger.info('stored ADMIN_API_KEY as the bootstrap admin key');
  const { remote, testCmd, benchCmd } = config.target;
  const target =
    remote !== undefined
      ? { ...targetIdentity(config), example: false, testCmd, benchCmd }
      : await resolveTargetRepository(config);
  const repo = await syncTargetRepository(em, target);
  logger.info(
    `target repository ${repo.path}${target.example ? ' (the example target, copied from examples/target)' : ''}`,
  );
}
