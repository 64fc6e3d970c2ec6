import type { EntityManager } from '@mikro-orm/postgresql';
import {
  deleteStoredSecret,
  getStoredSecret,
  NO_ENCRYPTION_KEY_MESSAGE,
  SecretsError,
  setStoredSecret,
  type EncryptionKeys,
} from '../crypto/secrets';
import { StoredSecret } from '../db/entities';
import { authorizationHeader, type GitCredentials } from './git-credentials';

/**
 * The https credentials for TARGET_REPO_URL (ARCHITECTURE §2 "Remote targets"): one sealed `stored_secrets` row
 * holding `{username?, token}`, set by an admin through `PUT /api/settings/target-credentials`. The token never
 * leaves the server: the API shows whether it is set and the user name only, and git gets it through its environment.
 */

export const TARGET_CREDENTIALS_NAME = 'target_credentials';

export interface TargetCredentialsSettings {
  tokenSet: boolean;
  username: string | null;
  updatedAt: Date | null;
  updatedBy: string | null;
}

/** The stored credentials in clear (for git's environment only), or null. Throws SecretsError when they cannot be opened. */
export async function loadTargetCredentials(em: EntityManager, keys: EncryptionKeys): Promise<GitCredentials | null> {
  const text = await getStoredSecret(em, keys, TARGET_CREDENTIALS_NAME);
  if (text === null) return null;
  const parsed = JSON.parse(text) as { username?: unknown; token?: unknown };
  if (typeof parsed.token !== 'string')
    throw new SecretsError('malformed', 'the stored target credentials have no token');
  return { token: parsed.token, ...(typeof parsed.username === 'string' && { username: parsed.username }) };
}

/** What the settings API shows: whether a token is set and the user name, never the token. Throws SecretsError. */
export async function describeTargetCredentials(
  em: EntityManager,
  keys: EncryptionKeys,
): Promise<TargetCredentialsSettings> {
  const row = await em.findOne(StoredSecret, { name: TARGET_CREDENTIALS_NAME }, { disableIdentityMap: true });
  if (row === null) return { tokenSet: false, username: null, updatedAt: null, updatedBy: null };
  const creds = await loadTargetCredentials(em, keys);
  return {
    tokenSet: creds !== null,
    username: creds?.username ?? null,
    updatedAt: row.updatedAt,
    updatedBy: row.updatedBy,
  };
}

/**
 * Stores (replaces) the credentials, sealed. Throws SecretsError `not_configured` without DATA_ENCRYPTION_KEY
 * (nothing is stored in clear), and an Error when they could not be sent as a header (checked before storing).
 */
export async function saveTargetCredentials(
  em: EntityManager,
  keys: EncryptionKeys,
  creds: GitCredentials,
  by: string | null,
): Promise<void> {
  if (keys.current === undefined) throw new SecretsError('not_configured', NO_ENCRYPTION_KEY_MESSAGE);
  authorizationHeader(creds);
  await setStoredSecret(
    em,
    keys,
    TARGET_CREDENTIALS_NAME,
    JSON.stringify({ username: creds.username, token: creds.token }),
    by,
  );
}

/** Removes the stored credentials (git then reaches the remote without any); returns whether some were set. */
export async function clearTargetCredentials(em: EntityManager): Promise<boolean> {
  return deleteStoredSecret(em, TARGET_CREDENTIALS_NAME);
}
