import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  encryptionKeyId,
  getStoredSecret,
  loadEncryptionKeys,
  openSecret,
  rotateSecrets,
  sealSecret,
  SecretsError,
  setStoredSecret,
  type EncryptionKeys,
} from '../../src/crypto/secrets';
import { StoredSecret } from '../../src/db/entities';
import { useTestOrm } from '../helpers/database';

const hexKey = () => randomBytes(32).toString('hex');
const keysOf = (key?: string, previous: string[] = []): EncryptionKeys =>
  loadEncryptionKeys({ key, previousKeys: previous });
const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return err instanceof SecretsError ? err.code : `not a SecretsError: ${String(err)}`;
  }
  return undefined;
};

describe('sealing', () => {
  const keys = keysOf(hexKey());

  it('round-trips a value, with a fresh IV each time, in the versioned format naming the key', () => {
    const a = sealSecret(keys, 'hunter2-but-longer', 'webhook_secret');
    const b = sealSecret(keys, 'hunter2-but-longer', 'webhook_secret');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^v1:[0-9a-f]{16}:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(a.split(':')[1]).toBe(keys.current?.id);
    expect(a).not.toContain('hunter2');
    expect(openSecret(keys, a, 'webhook_secret')).toBe('hunter2-but-longer');
    expect(openSecret(keys, sealSecret(keys, 'ünïcødé ✓'))).toBe('ünïcødé ✓');
  });

  it('accepts a base64 key and names every key by the first 16 hex characters of its sha256', () => {
    const raw = randomBytes(32);
    const b64 = keysOf(raw.toString('base64'));
    expect(b64.current?.id).toBe(encryptionKeyId(raw));
    expect(openSecret(b64, sealSecret(b64, 'x'))).toBe('x');
    expect(codeOf(() => keysOf('too-short'))).toBe('invalid_key');
    expect(codeOf(() => keysOf(hexKey(), ['nope']))).toBe('invalid_key');
  });

  it('detects any change to the ciphertext, IV or tag (GCM authentication) instead of returning garbage', () => {
    const sealed = sealSecret(keys, 'a secret value');
    const [v, id, iv, tag, ct] = sealed.split(':') as [string, string, string, string, string];
    const flip = (b64: string) => {
      const buf = Buffer.from(b64, 'base64');
      buf[0] = (buf[0] ?? 0) ^ 1;
      return buf.toString('base64');
    };
    for (const tampered of [
      [v, id, iv, tag, flip(ct)],
      [v, id, flip(iv), tag, ct],
      [v, id, iv, flip(tag), ct],
    ]) {
      expect(codeOf(() => openSecret(keys, tampered.join(':')))).toBe('undecryptable');
    }
    expect(codeOf(() => openSecret(keys, sealed, 'another-row'))).toBe('undecryptable');
    expect(codeOf(() => openSecret(keys, 'v1:abc'))).toBe('malformed');
    expect(codeOf(() => openSecret(keys, [v, id, iv, tag.slice(0, 8), ct].join(':')))).toBe('malformed');
  });

  it('refuses a value sealed under another key: unknown key id, or a forged id that fails authentication', () => {
    const other = keysOf(hexKey());
    const sealed = sealSecret(other, 'theirs');
    expect(codeOf(() => openSecret(keys, sealed))).toBe('unknown_key');
    const forged = sealed.replace(`:${other.current?.id}:`, `:${keys.current?.id}:`);
    expect(codeOf(() => openSecret(keys, forged))).toBe('undecryptable');
    expect(() => openSecret(keys, sealed)).toThrow(/neither DATA_ENCRYPTION_KEY nor in DATA_ENCRYPTION_KEY_PREVIOUS/);
  });

  it('opens with a previous key and seals only with the current one', () => {
    const oldKey = hexKey();
    const sealedOld = sealSecret(keysOf(oldKey), 'rotate me');
    const rotated = keysOf(hexKey(), [oldKey]);
    expect(openSecret(rotated, sealedOld)).toBe('rotate me');
    expect(sealSecret(rotated, 'new').split(':')[1]).toBe(rotated.current?.id);
  });

  it('refuses to seal without DATA_ENCRYPTION_KEY, saying what to set', () => {
    const none = keysOf(undefined);
    expect(codeOf(() => sealSecret(none, 'plain'))).toBe('not_configured');
    expect(() => sealSecret(none, 'plain')).toThrow(/DATA_ENCRYPTION_KEY is not set/);
  });
});

describe('stored secrets', () => {
  const bed = useTestOrm();
  const em = () => bed.orm.em.fork() as EntityManager;
  afterEach(() => em().nativeDelete(StoredSecret, {}));

  it('stores only the sealed value, bound to its row, and reads it back', async () => {
    const keys = keysOf(hexKey());
    await setStoredSecret(em(), keys, 'provider_key', 'sk-very-secret-value', 'admin');
    const row = await em().findOneOrFail(StoredSecret, { name: 'provider_key' });
    expect(row.ciphertext).not.toContain('sk-very-secret-value');
    expect(row).toMatchObject({ keyId: keys.current?.id, updatedBy: 'admin' });
    expect(await getStoredSecret(em(), keys, 'provider_key')).toBe('sk-very-secret-value');
    expect(await getStoredSecret(em(), keys, 'missing')).toBeNull();
    // A ciphertext copied onto another row does not open there.
    await em().insert(StoredSecret, {
      name: 'copied',
      ciphertext: row.ciphertext,
      keyId: row.keyId,
      updatedBy: null,
      updatedAt: new Date(),
    });
    await expect(getStoredSecret(em(), keys, 'copied')).rejects.toMatchObject({ code: 'undecryptable' });
  });

  it('never stores a secret without DATA_ENCRYPTION_KEY', async () => {
    await expect(setStoredSecret(em(), keysOf(undefined), 'provider_key', 'plain', null)).rejects.toMatchObject({
      code: 'not_configured',
    });
    expect(await em().count(StoredSecret, {})).toBe(0);
  });

  it('rotation re-seals what an old key sealed, leaves current rows alone and reports unreadable ones', async () => {
    const oldKey = hexKey();
    const old = keysOf(oldKey);
    await setStoredSecret(em(), old, 'a', 'value a', null);
    await setStoredSecret(em(), old, 'b', 'value b', null);
    await setStoredSecret(em(), keysOf(hexKey()), 'lost', 'sealed under a key nobody has', null);
    const next = keysOf(hexKey(), [oldKey]);
    await setStoredSecret(em(), next, 'c', 'value c', null);

    expect(await rotateSecrets(em(), next)).toEqual({ resealed: 2, current: 1, unreadable: ['lost'] });
    const rows = await em().find(StoredSecret, { name: { $in: ['a', 'b', 'c'] } });
    expect(rows.every((r) => r.keyId === next.current?.id && r.ciphertext.split(':')[1] === next.current?.id)).toBe(
      true,
    );
    // The old key is no longer needed for them.
    const withoutOld = keysOf(next.current?.key.toString('hex'));
    expect(await getStoredSecret(em(), withoutOld, 'a')).toBe('value a');
    expect(await getStoredSecret(em(), withoutOld, 'b')).toBe('value b');
    expect(await rotateSecrets(em(), next)).toEqual({ resealed: 0, current: 3, unreadable: ['lost'] });
    await expect(rotateSecrets(em(), keysOf(undefined))).rejects.toMatchObject({ code: 'not_configured' });
  });
});
