import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { QueryResult } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ApiKey, type ApiKeyRole } from '../db/entities';

const KEY_PREFIX = 'lvl_';

/** SHA-256 of a key. Keys are 32 random bytes, so a fast hash is safe (nothing to brute-force) and lookups stay O(1). */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A new random key: `lvl_` + 43 base64url characters (256 bits). */
export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** Stores a new key and returns it in clear; this is the only time the clear key exists on the server. */
export async function createApiKey(
  em: EntityManager,
  init: { name: string; role: ApiKeyRole; createdBy?: string; key?: string },
): Promise<{ key: string; record: ApiKey }> {
  const key = init.key ?? generateApiKey();
  const record = new ApiKey({
    name: init.name,
    role: init.role,
    keyHash: hashApiKey(key),
    prefix: key.slice(0, 10),
    createdBy: init.createdBy ?? null,
  });
  await em.persistAndFlush(record);
  return { key, record };
}

/** Finds the active (not revoked) key record for a presented key, or null. */
export async function findActiveApiKey(em: EntityManager, key: string): Promise<ApiKey | null> {
  return em.findOne(ApiKey, { keyHash: hashApiKey(key), revokedAt: null });
}

/**
 * Stores ADMIN_API_KEY as an admin key when no key with that hash exists yet, so the first start of a fresh system
 * has a way in. Returns whether a key was created.
 */
export async function bootstrapAdminKey(em: EntityManager, adminApiKey: string | undefined): Promise<boolean> {
  if (adminApiKey === undefined) return false;
  // One statement, so an API and a worker starting together cannot both insert it.
  const result = await em.getConnection().execute<QueryResult>(
    `insert into "api_keys" ("id", "name", "role", "key_hash", "prefix", "created_by", "created_at")
     values (?, 'bootstrap-admin', 'admin', ?, ?, 'ADMIN_API_KEY', now()) on conflict ("key_hash") do nothing`,
    [randomUUID(), hashApiKey(adminApiKey), adminApiKey.slice(0, 10)],
    'run',
  );
  return result.affectedRows > 0;
}
