import { gitUrlKind } from '../domain/git-url';

/** An https token for the target remote (from the sealed settings store); `username` defaults to `x-access-token`. */
export interface GitCredentials {
  username?: string;
  token: string;
}

export interface RemoteEnvOptions {
  /** The remote's URL, credential-free (the config refuses any other). */
  url: string;
  credentials?: GitCredentials | null;
  /** TARGET_GIT_SSH_COMMAND; default `ssh -o BatchMode=yes` so a missing key or unknown host fails instead of prompting. */
  sshCommand?: string;
  /** Where SSH_AUTH_SOCK is taken from (the worker's ssh agent); the process environment by default. */
  inherit?: Readonly<Record<string, string | undefined>>;
}

const DEFAULT_USERNAME = 'x-access-token';

/**
 * The environment git needs to reach the remote, and nothing else: only file, ssh and https transports; for https with
 * credentials an `Authorization` header scoped to that URL through GIT_CONFIG_COUNT/KEY/VALUE (so the token is never
 * on a command line, in a URL, in the mirror's config or in a log) with redirects off so it is not replayed to another
 * host; for ssh the worker's agent socket and a non-interactive ssh. Throws on credentials that could inject a header.
 */
export function remoteGitEnv(opts: RemoteEnvOptions): Record<string, string> {
  const env: Record<string, string> = { GIT_ALLOW_PROTOCOL: 'file:ssh:https' };
  const kind = gitUrlKind(opts.url);
  if (kind === 'ssh') {
    env.GIT_SSH_COMMAND = opts.sshCommand ?? 'ssh -o BatchMode=yes';
    const sock = (opts.inherit ?? process.env).SSH_AUTH_SOCK;
    if (sock !== undefined && sock !== '') env.SSH_AUTH_SOCK = sock;
  }
  const creds = opts.credentials;
  if (kind === 'https' && creds !== undefined && creds !== null) {
    const config: Array<[string, string]> = [
      [`http.${opts.url}.extraHeader`, authorizationHeader(creds)],
      ['http.followRedirects', 'false'],
    ];
    env.GIT_CONFIG_COUNT = String(config.length);
    config.forEach(([key, value], i) => {
      env[`GIT_CONFIG_KEY_${i}`] = key;
      env[`GIT_CONFIG_VALUE_${i}`] = value;
    });
  }
  return env;
}

/** `Authorization: Basic base64(user:token)`. Throws when a part holds a control character or the user name a colon. */
export function authorizationHeader(creds: GitCredentials): string {
  const username = creds.username ?? DEFAULT_USERNAME;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(username + creds.token) || username.includes(':') || creds.token === '') {
    throw new Error(
      'the stored target credentials are malformed (empty token, control character, or ":" in the user name)',
    );
  }
  return `Authorization: Basic ${Buffer.from(`${username}:${creds.token}`, 'utf8').toString('base64')}`;
}

/** `text` with every form of the credentials (the token, the header value) replaced by `***`, for errors and logs. */
export function scrubCredentials(text: string, creds: GitCredentials | null | undefined): string {
  if (creds === undefined || creds === null || creds.token === '') return text;
  const forms = [
    creds.token,
    Buffer.from(`${creds.username ?? DEFAULT_USERNAME}:${creds.token}`, 'utf8').toString('base64'),
    encodeURIComponent(creds.token),
  ];
  return forms.reduce((out, form) => out.split(form).join('***'), text);
}
