import { loadConfig } from '../../src/config';
import { gitUrlName, gitUrlProblem, redactGitUrl } from '../../src/domain/git-url';
import { authorizationHeader, remoteGitEnv, scrubCredentials } from '../../src/target/git-credentials';
import { mirrorDir } from '../../src/target/mirror';
import { targetIdentity } from '../../src/target/repository';
import { configProblems } from '../helpers/config';

const TOKEN = 'ghp_S3cretT0kenValue1234567890';

describe('TARGET_REPO_URL', () => {
  it.each([
    'file:///srv/git/lib.git',
    'ssh://git@example.com/org/lib.git',
    'git@example.com:org/lib.git',
    'https://example.com/org/lib.git',
  ])('accepts %s', (url) => {
    expect(gitUrlProblem(url)).toBeNull();
    expect(loadConfig({ TARGET_REPO_URL: url, TARGET_REPO_BRANCH: 'release/2.x' }).target.remote).toMatchObject({
      url,
      branch: 'release/2.x',
      fetchMinIntervalSeconds: 10,
    });
  });

  it.each([
    ['https://user:pw@example.com/org/lib.git', /must not carry credentials/],
    [`https://${TOKEN}@example.com/org/lib.git`, /must not carry credentials/],
    ['ssh://git:pw@example.com/org/lib.git', /must not carry credentials/],
    ['http://example.com/org/lib.git', /http scheme is not accepted/],
    ['ext::sh -c touch% /tmp/pwned', /white space/],
    ['ext::evil', /ext scheme is not accepted/],
    ['-oProxyCommand@host:x', /must be a file/],
    ['https://example.com/lib.git?token=abc', /query/],
    ['file://host/srv/lib.git', /file:\/\/\/absolute/],
    ['-oProxyCommand=evil@host:x', /must be a file/],
  ])('refuses %s', (url, why) => {
    expect(gitUrlProblem(url)).toMatch(why);
  });

  it('is refused with TARGET_REPO_PATH, and the message never echoes the URL', () => {
    const problems = configProblems({
      TARGET_REPO_URL: 'https://example.com/org/lib.git',
      TARGET_REPO_PATH: '/srv/lib',
    });
    expect(problems).toEqual(['TARGET_REPO_URL: set TARGET_REPO_URL or TARGET_REPO_PATH, not both']);
    const bad = configProblems({ TARGET_REPO_URL: `https://x:${TOKEN}@example.com/lib.git` }).join('\n');
    expect(bad).toMatch(/TARGET_REPO_URL: must not carry credentials/);
    expect(bad).not.toContain(TOKEN);
  });

  it('takes TARGET_REPO_BRANCH only with a URL, and only a plain branch name', () => {
    expect(configProblems({ TARGET_REPO_BRANCH: 'main' })).toEqual([
      expect.stringMatching(/^TARGET_REPO_BRANCH: only applies with TARGET_REPO_URL/),
    ]);
    for (const branch of ['-x', 'a..b', 'a b', 'x.lock', 'a/']) {
      expect(configProblems({ TARGET_REPO_URL: 'file:///srv/lib.git', TARGET_REPO_BRANCH: branch })).toEqual([
        expect.stringMatching(/^TARGET_REPO_BRANCH: must be a plain branch name/),
      ]);
    }
  });
});

describe('what is stored and logged of a remote', () => {
  it('redacts credentials, queries and fragments, and replaces text that is not a URL', () => {
    expect(redactGitUrl(`https://u:${TOKEN}@example.com/org/lib.git?x=${TOKEN}#frag`)).toBe(
      'https://example.com/org/lib.git',
    );
    expect(redactGitUrl(`https://${TOKEN}@example.com/lib.git`)).toBe('https://example.com/lib.git');
    expect(redactGitUrl(`ssh://git:${TOKEN}@example.com/lib.git`)).toBe('ssh://git@example.com/lib.git');
    expect(redactGitUrl('git@example.com:org/lib.git')).toBe('git@example.com:org/lib.git');
    expect(redactGitUrl(`not a url ${TOKEN}`)).toBe('<unparseable git URL>');
  });

  it('keys the repositories row and the mirror on the credential-free URL', () => {
    const at = (url: string) =>
      targetIdentity({
        dataDir: '/data',
        target: {
          repoPath: undefined,
          testCmd: 'npm test',
          benchCmd: undefined,
          remote: { url, branch: undefined, fetchMinIntervalSeconds: 0, sshCommand: undefined },
        },
      });
    expect(at('https://example.com/org/mocha.git')).toEqual({
      key: 'https://example.com/org/mocha.git',
      name: 'mocha',
    });
    expect(at(`https://u:${TOKEN}@example.com/org/mocha.git`).key).toBe('https://example.com/org/mocha.git');
    expect(gitUrlName('git@example.com:org/lib.git')).toBe('lib');
    expect(mirrorDir('/data', `https://u:${TOKEN}@example.com/org/mocha.git`)).toBe(
      mirrorDir('/data', 'https://example.com/org/mocha.git'),
    );
    expect(mirrorDir('/data', 'https://example.com/org/mocha.git')).toMatch(/^\/data\/mirrors\/[0-9a-f]{16}\.git$/);
  });
});

describe('the environment git reaches the remote with', () => {
  it('puts an https token only in an Authorization header scoped to the remote, with redirects off', () => {
    const env = remoteGitEnv({ url: 'https://example.com/org/lib.git', credentials: { token: TOKEN } });
    expect(env).toEqual({
      GIT_ALLOW_PROTOCOL: 'file:ssh:https',
      GIT_CONFIG_COUNT: '2',
      GIT_CONFIG_KEY_0: 'http.https://example.com/org/lib.git.extraHeader',
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`,
      GIT_CONFIG_KEY_1: 'http.followRedirects',
      GIT_CONFIG_VALUE_1: 'false',
    });
    // The token itself is in no variable in clear: only inside the base64 header value.
    expect(Object.entries(env).filter(([k, v]) => k.includes(TOKEN) || v.includes(TOKEN))).toEqual([]);
  });

  it('uses the given user name, and refuses values that could inject a header', () => {
    expect(authorizationHeader({ username: 'ci-bot', token: 't' })).toBe(
      `Authorization: Basic ${Buffer.from('ci-bot:t').toString('base64')}`,
    );
    expect(() => authorizationHeader({ token: 'abc\r\nX-Evil: 1' })).toThrow(/malformed/);
    expect(() => authorizationHeader({ username: 'a:b', token: 't' })).toThrow(/malformed/);
    expect(() => authorizationHeader({ token: '' })).toThrow(/malformed/);
  });

  it('gives ssh the worker agent and a non-interactive ssh, and ignores https credentials', () => {
    const env = remoteGitEnv({
      url: 'git@example.com:org/lib.git',
      credentials: { token: TOKEN },
      inherit: { SSH_AUTH_SOCK: '/run/agent.sock', OPENAI_API_KEY: 'sk-x' },
    });
    expect(env).toEqual({
      GIT_ALLOW_PROTOCOL: 'file:ssh:https',
      GIT_SSH_COMMAND: 'ssh -o BatchMode=yes',
      SSH_AUTH_SOCK: '/run/agent.sock',
    });
    expect(
      remoteGitEnv({ url: 'ssh://git@example.com/lib.git', sshCommand: 'ssh -i /keys/deploy', inherit: {} })
        .GIT_SSH_COMMAND,
    ).toBe('ssh -i /keys/deploy');
    expect(remoteGitEnv({ url: 'file:///srv/lib.git', credentials: { token: TOKEN } })).toEqual({
      GIT_ALLOW_PROTOCOL: 'file:ssh:https',
    });
  });

  it('scrubs the token and its header form from text', () => {
    const header = Buffer.from(`x-access-token:${TOKEN}`).toString('base64');
    expect(scrubCredentials(`fatal: ${TOKEN} and ${header}`, { token: TOKEN })).toBe('fatal: *** and ***');
    expect(scrubCredentials('nothing here', null)).toBe('nothing here');
  });
});
