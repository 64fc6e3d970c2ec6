import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import { StoredSecret } from '../db/entities';

/**
 * Secrets at rest (ARCHITECTURE §6): AES-256-GCM under `DATA_ENCRYPTION_KEY`, a random 12-byte IV per seal, sealed as
 * `v1:<keyId>:<iv b64>:<tag b64>:<ciphertext b64>` where keyId is the first 16 hex characters of sha256(key). The
 * current key seals; it and every `DATA_ENCRYPTION_KEY_PREVIOUS` key open, so keys rotate without downtime
 * (`npm run cli -- secrets rotate` re-seals under the current one). Stored secrets bind their row name as additional
 * authenticated data, so a ciphertext copied onto another row does not open. Nothing here logs a value.
 */

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export type SecretsErrorCode = 'not_configured' | 'invalid_key' | 'malformed' | 'unknown_key' | 'undecryptable';

/** Every failure to seal or open a secret, with a stable code and a message that never contains the secret. */
export class SecretsError extends Error {
  constructor(
    readonly code: SecretsErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SecretsError';
  }
}

export interface EncryptionKey {
  id: string;
  key: Buffer;
}

/** The key that seals (absent without `DATA_ENCRYPTION_KEY`) and every key that opens, by key id. */
export interface EncryptionKeys {
  current: EncryptionKey | undefined;
  byId: ReadonlyMap<string, Buffer>;
}

export const NO_ENCRYPTION_KEY_MESSAGE =
  'DATA_ENCRYPTION_KEY is not set: secrets are only ever stored encrypted (AES-256-GCM). Set it to 32 random bytes as 64 hex characters (e.g. `openssl rand -hex 32`) and restart.';

/** A key from its text form: 64 hex characters or base64 of exactly 32 bytes. Throws SecretsError `invalid_key`. */
export function parseEncryptionKey(text: string, name = 'DATA_ENCRYPTION_KEY'): Buffer {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) {
    const key = Buffer.from(trimmed, 'base64');
    if (key.length === 32) return key;
  }
  throw new SecretsError('invalid_key', `${name}: a key must be 32 bytes as 64 hex characters or base64`);
}

/** The first 16 hex characters of sha256(key): names a key in sealed values without revealing it. */
export function encryptionKeyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** The keys from the config; a malformed previous key throws (bad config stops the process). */
export function loadEncryptionKeys(encryption: Config['encryption']): EncryptionKeys {
  const byId = new Map<string, Buffer>();
  let current: EncryptionKey | undefined;
  if (encryption.key !== undefined) {
    const key = parseEncryptionKey(encryption.key);
    current = { id: encryptionKeyId(key), key };
    byId.set(current.id, key);
  }
  encryption.previousKeys.forEach((text, i) => {
    const key = parseEncryptionKey(text, `DATA_ENCRYPTION_KEY_PREVIOUS[${i}]`);
    if (!byId.has(encryptionKeyId(key))) byId.set(encryptionKeyId(key), key);
  });
  return { current, byId };
}

/** Encrypts `plaintext` under the current key; `context` (additional authenticated data) must match to open it. */
export function sealSecret(keys: EncryptionKeys, plaintext: string, context = ''): string {
  const current = keys.current;
  if (current === undefined) throw new SecretsError('not_configured', NO_ENCRYPTION_KEY_MESSAGE);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', current.key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [
    VERSION,
    current.id,
    iv.toString('base64'),
    cipher.getAuthTag().toString('base64'),
    ciphertext.toString('base64'),
  ].join(':');
}

/**
 * Decrypts a sealed value with whichever known key sealed it. Throws SecretsError: `malformed`, `unknown_key` (sealed
 * under a key that is neither current nor previous) or `undecryptable` (GCM authentication failed: altered, or the
 * wrong key or context) — never returns garbage.
 */
export function openSecret(keys: EncryptionKeys, sealed: string, context = ''): string {
  const { keyId, iv, tag, ciphertext } = parseSealed(sealed);
  const key = keys.byId.get(keyId);
  if (key === undefined) {
    const hint = keys.byId.size === 0 ? ' (no key is configured at all)' : '';
    throw new SecretsError(
      'unknown_key',
      `the secret was sealed with key ${keyId}, which is neither DATA_ENCRYPTION_KEY nor in DATA_ENCRYPTION_KEY_PREVIOUS${hint}`,
    );
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretsError(
      'undecryptable',
      `the secret sealed with key ${keyId} failed GCM authentication: it was altered, or the key is not the one that sealed it`,
    );
  }
}

/** The id of the key that sealed a value (throws SecretsError `malformed`). */
export function sealedKeyId(sealed: string): string {
  return parseSealed(sealed).keyId;
}

function parseSealed(sealed: string): { keyId: string; iv: Buffer; tag: Buffer; ciphertext: Buffer } {
  const parts = sealed.split(':');
  const [version, keyId, iv, tag, ciphertext] = parts;
  const b64 = /^[A-Za-z0-9+/]*={0,2}$/;
  if (
    parts.length !== 5 ||
    version !== VERSION ||
    keyId === undefined ||
    !/^[0-9a-f]{16}$/.test(keyId) ||
    [iv, tag, ciphertext].some((p) => p === undefined || !b64.test(p))
  ) {
    throw new SecretsError('malformed', `a sealed secret must look like ${VERSION}:<keyId>:<iv>:<tag>:<ciphertext>`);
  }
  const parsed = {
    keyId,
    iv: Buffer.from(iv ?? '', 'base64'),
    tag: Buffer.from(tag ?? '', 'base64'),
    ciphertext: Buffer.from(ciphertext ?? '', 'base64'),
  };
  if (parsed.iv.length !== IV_BYTES || parsed.tag.length !== TAG_BYTES)
    throw new SecretsError('malformed', `a sealed secret needs a ${IV_BYTES}-byte IV and a ${TAG_BYTES}-byte tag`);
  return parsed;
}

/** Stores (or replaces) a secret sealed under the current key. Throws SecretsError `not_configured` without a key. */
export async function setStoredSecret(
  em: EntityManager,
  keys: EncryptionKeys,
  name: string,
  value: string,
  by: string | null,
): Promise<void> {
  const ciphertext = sealSecret(keys, value, name);
  await em.upsert(StoredSecret, {
    name,
    ciphertext,
    keyId: sealedKeyId(ciphertext),
    updatedBy: by,
    updatedAt: new Date(),
  });
}

/** The clear value of a stored secret, or null when there is none. Throws SecretsError when it cannot be opened. */
export async function getStoredSecret(em: EntityManager, keys: EncryptionKeys, name: string): Promise<string | null> {
  const row = await em.findOne(StoredSecret, { name }, { disableIdentityMap: true });
  return row === null ? null : openSecret(keys, row.ciphertext, name);
}

/** Removes a stored secret; returns whether one existed. */
export async function deleteStoredSecret(em: EntityManager, name: string): Promise<boolean> {
  return (await em.nativeDelete(StoredSecret, { name })) > 0;
}

export interface RotationResult {
  /** re-sealed under the current key */
  resealed: number;
  /** already sealed under the current key */
  current: number;
  /** names of rows no configured key opens (left as they are) */
  unreadable: string[];
}

/**
 * Re-seals every stored secret not sealed under the current key, in one transaction (rows locked, so two rotations at
 * once do not interleave). A row no known key opens is left untouched and reported. Throws `not_configured` without a key.
 */
export async function rotateSecrets(em: EntityManager, keys: EncryptionKeys): Promise<RotationResult> {
  const current = keys.current;
  if (current === undefined) throw new SecretsError('not_configured', NO_ENCRYPTION_KEY_MESSAGE);
  return em.transactional(async (tx) => {
    const rows = await tx.execute<Array<{ name: string; ciphertext: string; key_id: string }>>(
      'select "name", "ciphertext", "key_id" from "stored_secrets" order by "name" for update',
      [],
      'all',
    );
    const result: RotationResult = { resealed: 0, current: 0, unreadable: [] };
    for (const row of rows) {
      if (row.key_id === current.id && sealedKeyId(row.ciphertext) === current.id) {
        result.current++;
        continue;
      }
      let value: string;
      try {
        value = openSecret(keys, row.ciphertext, row.name);
      } catch (err) {
        if (!(err instanceof SecretsError)) throw err;
        result.unreadable.push(row.name);
        continue;
      }
      const ciphertext = sealSecret(keys, value, row.name);
      await tx.execute(
        'update "stored_secrets" set "ciphertext" = ?, "key_id" = ? where "name" = ?',
        [ciphertext, current.id, row.name],
        'run',
      );
      result.resealed++;
    }
    return result;
  });
}
