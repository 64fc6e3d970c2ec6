import { parseArgs } from 'node:util';
import { createApiKey } from '../auth/api-keys';
import { loadConfig, type Config } from '../config';
import { loadEncryptionKeys, rotateSecrets } from '../crypto/secrets';
import { API_KEY_ROLES, ApiKey, type ApiKeyRole } from '../db/entities';
import { createOrm } from '../db/orm';
import { createLogger } from '../logger';
import { createTemporalClient } from '../temporal/client';
import { scheduleDefinitions } from '../temporal/schedule-definitions';
import { syncSchedules } from '../temporal/schedules';
import { runMain } from './run-main';

const USAGE = `usage: npm run cli -- <command>
  keys create --role viewer|operator|admin --name NAME   create a key and print it once
  keys list                                             list keys (never the keys themselves)
  keys revoke ID                                        revoke a key
  schedules sync                                        create or update every schedule
  secrets rotate                                        re-seal stored secrets under DATA_ENCRYPTION_KEY`;

/** Operator commands that need no running API: key management, schedule sync and secret rotation. */
runMain(async () => {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { role: { type: 'string' }, name: { type: 'string' } },
  });
  const [area, command, arg] = positionals;
  const config = loadConfig();
  const logger = createLogger(config.log);

  if (area === 'schedules' && command === 'sync') {
    const client = createTemporalClient(config.temporal);
    try {
      const result = await syncSchedules(client, scheduleDefinitions(config), {
        catchupWindowSeconds: config.intervals.scheduleCatchupWindow,
        logger,
      });
      process.stdout.write(
        `created: ${result.created.join(', ') || '-'}; updated: ${result.updated.join(', ') || '-'}\n`,
      );
    } finally {
      await client.connection.close();
    }
    return;
  }
  if (area === 'secrets' && command === 'rotate') {
    await rotateStoredSecrets(config);
    return;
  }
  if (area !== 'keys') throw new Error(USAGE);

  const orm = await createOrm(config.database);
  try {
    const em = orm.em.fork();
    if (command === 'create') {
      const role = values.role;
      const name = values.name?.trim();
      if (!isRole(role) || name === undefined || name === '' || name.length > 100) throw new Error(USAGE);
      const { key, record } = await createApiKey(em, { name, role, createdBy: 'cli' });
      process.stdout.write(`${key}\n`);
      process.stderr.write(
        `created ${record.role} key "${record.name}" (id ${record.id}); it is shown only this once\n`,
      );
    } else if (command === 'list') {
      for (const k of await em.find(ApiKey, {}, { orderBy: { createdAt: 'asc' } })) {
        const state = k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active';
        process.stdout.write(`${k.id}  ${k.role.padEnd(8)} ${k.prefix}…  ${k.name}  (${state})\n`);
      }
    } else if (command === 'revoke' && arg !== undefined) {
      const updated = await em.nativeUpdate(ApiKey, { id: arg, revokedAt: null }, { revokedAt: new Date() });
      if (updated === 0) throw new Error(`no active key with id ${arg}`);
      process.stdout.write(`revoked ${arg}\n`);
    } else {
      throw new Error(USAGE);
    }
  } finally {
    await orm.close();
  }
});

/**
 * Re-seals every stored secret not sealed under DATA_ENCRYPTION_KEY (opening it with DATA_ENCRYPTION_KEY_PREVIOUS)
 * and prints the counts; fails when some secret no configured key opens.
 */
async function rotateStoredSecrets(config: Config): Promise<void> {
  const keys = loadEncryptionKeys(config.encryption);
  const orm = await createOrm(config.database);
  try {
    const result = await rotateSecrets(orm.em.fork(), keys);
    process.stdout.write(
      `re-sealed: ${result.resealed}; already under the current key: ${result.current}; unreadable: ${result.unreadable.length}\n`,
    );
    if (result.unreadable.length > 0) {
      throw new Error(
        `no configured key opens: ${result.unreadable.join(', ')} (add the key that sealed them to DATA_ENCRYPTION_KEY_PREVIOUS)`,
      );
    }
  } finally {
    await orm.close();
  }
}

function isRole(value: string | undefined): value is ApiKeyRole {
  return value !== undefined && (API_KEY_ROLES as readonly string[]).includes(value);
}
