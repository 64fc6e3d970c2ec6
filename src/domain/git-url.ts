/**
 * Git remote URLs for TARGET_REPO_URL (ARCHITECTURE §2 "Remote targets"): which forms are accepted, and the form that
 * may be stored or logged. Pure, so the config, the target module and the tests share one definition.
 */

export type GitUrlKind = 'file' | 'ssh' | 'https';

/** `user@host:path` (git's scp-like ssh syntax); neither user nor host may start with `-` (it would become an ssh option). */
const SCP_LIKE = /^([A-Za-z0-9_][A-Za-z0-9._-]*)@([A-Za-z0-9][A-Za-z0-9.-]*):(?!\/\/)(\S+)$/;

/**
 * Why `url` is not an acceptable remote, or null when it is. Accepted: `file://` (absolute path), `ssh://` and
 * scp-like `user@host:path`, `https://` — with no password anywhere and, for https, no user name either (a token as
 * user name is still a token): credentials belong in the sealed settings store, never in a URL.
 */
export function gitUrlProblem(url: string): string | null {
  if (/\s/.test(url)) return 'must not contain white space';
  if (SCP_LIKE.test(url)) return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be a file://, ssh:// (or user@host:path) or https:// git URL';
  }
  const kind = urlKind(parsed.protocol);
  if (kind === undefined)
    return `the ${parsed.protocol.replace(/:$/, '')} scheme is not accepted: use file://, ssh:// (or user@host:path) or https://`;
  if (parsed.password !== '' || (kind === 'https' && parsed.username !== '')) {
    return 'must not carry credentials: set them with PUT /api/settings/target-credentials (sealed), or use ssh with the worker’s key';
  }
  if (parsed.search !== '' || parsed.hash !== '') return 'must not have a query or fragment';
  if (kind === 'file' && (parsed.hostname !== '' || parsed.pathname.length <= 1))
    return 'a file:// URL must be file:///absolute/path';
  if (kind !== 'file' && (parsed.hostname === '' || parsed.hostname.startsWith('-'))) return 'must name a host';
  return null;
}

/** The kind of an accepted URL (call gitUrlProblem first; throws on a URL it would refuse). */
export function gitUrlKind(url: string): GitUrlKind {
  if (SCP_LIKE.test(url)) return 'ssh';
  const kind = urlKind(new URL(url).protocol);
  if (kind === undefined) throw new Error('not an accepted git URL');
  return kind;
}

/**
 * The URL with anything secret removed — a password, an https user name, a query or fragment — for storage (the
 * `repositories` row), logs and error messages. Defence in depth: the config already refuses such URLs. Text that is
 * not a URL at all is replaced whole rather than risk echoing a secret.
 */
export function redactGitUrl(url: string): string {
  const scp = SCP_LIKE.exec(url);
  if (scp !== null) return url;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '<unparseable git URL>';
  }
  if (urlKind(parsed.protocol) !== 'ssh') parsed.username = '';
  parsed.password = '';
  parsed.search = '';
  parsed.hash = '';
  return parsed.toString();
}

/** A short name for a remote: its last path segment without `.git` (e.g. `mocha` for `https://host/org/mocha.git`). */
export function gitUrlName(url: string): string {
  const scp = SCP_LIKE.exec(url);
  const pathPart = scp !== null ? (scp[3] ?? '') : safePath(url);
  const last = pathPart.replace(/\/+$/, '').split('/').pop() ?? '';
  return last.replace(/\.git$/, '') || 'remote';
}

function safePath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '';
  }
}

function urlKind(protocol: string): GitUrlKind | undefined {
  if (protocol === 'file:') return 'file';
  if (protocol === 'ssh:') return 'ssh';
  if (protocol === 'https:') return 'https';
  return undefined;
}
