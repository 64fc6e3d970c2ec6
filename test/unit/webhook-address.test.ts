import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { postWebhook } from '../../src/notifications/webhook';
import { addressProblem, webhookUrlProblem, type Resolver } from '../../src/notifications/webhook-address';

describe('addressProblem', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.1.2', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'CGNAT'],
    ['100.127.255.254', 'CGNAT'],
    ['169.254.169.254', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['168.63.129.16', 'metadata'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['fe80::1', 'link-local'],
    ['fd00:ec2::254', 'ULA'],
    ['fc00::1', 'ULA'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback'],
    ['::ffff:a9fe:a9fe', 'IPv4-mapped link-local'],
    ['::127.0.0.1', 'IPv4-compatible loopback'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 link-local'],
    ['2002:7f00:1::', '6to4 loopback'],
  ])('refuses %s (%s)', (address, reason) => {
    expect(addressProblem(address)).toContain(reason);
  });

  it.each([
    '93.184.216.34',
    '8.8.8.8',
    '100.63.255.255',
    '100.128.0.0',
    '172.32.0.1',
    '2606:4700::1111',
    '::ffff:8.8.8.8',
  ])('allows the public address %s', (address) => {
    expect(addressProblem(address)).toBeNull();
  });
});

describe('webhookUrlProblem', () => {
  const nothingResolves: Resolver = () => Promise.reject(Object.assign(new Error('no DNS'), { code: 'ENOTFOUND' }));

  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://127.0.0.1:8080/hook',
    'http://[::1]/hook',
    'http://0x7f000001/hook',
    'http://2130706433/hook',
    'http://0177.0.0.1/hook',
    'http://127.1/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://[::ffff:169.254.169.254]/hook',
    'http://0/hook',
    'https://10.0.0.5/hook',
    'https://100.100.100.200/hook',
    'https://[fd00:ec2::254]/hook',
  ])('refuses %s, numeric forms normalized', async (url) => {
    expect(await webhookUrlProblem(url, { allowPrivate: false, resolve: nothingResolves })).toMatch(
      / is an? .+ address; set WEBHOOK_ALLOW_PRIVATE=true/,
    );
  });

  it('refuses a name that resolves to a private address, if any of its addresses is one', async () => {
    const resolve: Resolver = async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '10.0.0.7', family: 4 },
    ];
    expect(await webhookUrlProblem('https://hooks.example.com/in', { allowPrivate: false, resolve })).toBe(
      'hooks.example.com resolves to 10.0.0.7, a private (RFC 1918) address; set WEBHOOK_ALLOW_PRIVATE=true to allow private destinations',
    );
  });

  it('refuses localhost through the system resolver', async () => {
    expect(await webhookUrlProblem('http://localhost:9/hook', { allowPrivate: false })).toMatch(
      /^localhost resolves to .*loopback/,
    );
  });

  it('accepts a public address, a name that does not resolve yet, and anything with WEBHOOK_ALLOW_PRIVATE', async () => {
    expect(await webhookUrlProblem('https://93.184.216.34/in', { allowPrivate: false })).toBeNull();
    expect(
      await webhookUrlProblem('https://hooks.example.com/in', { allowPrivate: false, resolve: nothingResolves }),
    ).toBeNull();
    expect(await webhookUrlProblem('http://127.0.0.1/in', { allowPrivate: true })).toBeNull();
  });
});

describe('postWebhook destination checks', () => {
  let server: Server;
  let port: number;
  let received = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      received++;
      req.resume();
      res.writeHead(503).end('internal detail the receiver should not leak into our records');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    received = 0;
  });

  const post = (url: string, allowPrivate: boolean, resolve?: Resolver) =>
    postWebhook({ url, secret: null, body: '{}', deliveryId: 'd-1', allowPrivate, resolve, timeoutMs: 5000 });

  it.each(['127.0.0.1', '0x7f000001', '2130706433', '[::ffff:127.0.0.1]'])(
    'refuses the loopback literal %s without connecting',
    async (host) => {
      const res = await post(`http://${host}:${port}/hook`, false);
      expect(res).toMatchObject({ outcome: 'rejected', statusCode: null });
      expect(res.error).toMatch(/^refused: .*loopback address/);
      expect(received).toBe(0);
    },
  );

  it('checks the address it connects to: a name whose DNS answer turned private after it was saved is refused (rebinding)', async () => {
    let answers = 0;
    // First answer public (what the save-time check saw), then loopback (what a rebinding server answers next).
    const rebinding: Resolver = async () =>
      answers++ === 0 ? [{ address: '93.184.216.34', family: 4 }] : [{ address: '127.0.0.1', family: 4 }];
    expect(
      await webhookUrlProblem(`http://rebind.test:${port}/hook`, { allowPrivate: false, resolve: rebinding }),
    ).toBeNull();
    const res = await post(`http://rebind.test:${port}/hook`, false, rebinding);
    expect(res.outcome).toBe('rejected');
    expect(res.error).toBe(
      'refused: rebind.test resolves to 127.0.0.1, a loopback address; set WEBHOOK_ALLOW_PRIVATE=true to allow private destinations',
    );
    expect(received).toBe(0);
  });

  it('connects to the address its lookup checked, and keeps the status code, never the body', async () => {
    // rebind.test exists in no DNS: reaching the receiver proves the connection used the injected (checked) lookup.
    const res = await post(`http://rebind.test:${port}/hook`, true, async () => [{ address: '127.0.0.1', family: 4 }]);
    expect(received).toBe(1);
    expect(res).toMatchObject({ outcome: 'retryable', statusCode: 503, error: 'HTTP 503' });
  });
});
