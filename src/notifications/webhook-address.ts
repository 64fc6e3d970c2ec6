import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';

/**
 * Where a webhook may go (issue 16, deliverable 6): only public unicast addresses, unless WEBHOOK_ALLOW_PRIVATE.
 * A URL is checked when it is saved (its host resolved now) and again on every delivery, where the check runs inside
 * the socket's own `lookup` — the address checked is the address connected to, so a DNS answer that changes between
 * the two (rebinding) cannot reach loopback, the private networks or a cloud metadata service.
 */

/** Resolves a host name to every address it has (dns.lookup by default; tests inject their own). */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  );

/** Addresses that are public by range but serve cloud metadata (Azure's wire server). */
const METADATA_V4 = new Set(['168.63.129.16']);

type V4Range = [base: number, bits: number, reason: string];
const V4_RANGES: V4Range[] = [
  [ip4('0.0.0.0'), 8, 'unspecified ("this network")'],
  [ip4('10.0.0.0'), 8, 'private (RFC 1918)'],
  [ip4('100.64.0.0'), 10, 'shared address space (CGNAT, RFC 6598)'],
  [ip4('127.0.0.0'), 8, 'loopback'],
  [ip4('169.254.0.0'), 16, 'link-local (cloud metadata)'],
  [ip4('172.16.0.0'), 12, 'private (RFC 1918)'],
  [ip4('192.0.0.0'), 24, 'IETF protocol assignments'],
  [ip4('192.0.2.0'), 24, 'documentation'],
  [ip4('192.168.0.0'), 16, 'private (RFC 1918)'],
  [ip4('198.18.0.0'), 15, 'benchmarking'],
  [ip4('198.51.100.0'), 24, 'documentation'],
  [ip4('203.0.113.0'), 24, 'documentation'],
  [ip4('224.0.0.0'), 4, 'multicast'],
  [ip4('240.0.0.0'), 4, 'reserved / broadcast'],
];

function ip4(text: string): number {
  return text.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function v4Problem(address: string): string | null {
  if (METADATA_V4.has(address)) return 'cloud metadata';
  const n = ip4(address);
  for (const [base, bits, reason] of V4_RANGES) {
    const size = 2 ** (32 - bits);
    if (n >= base && n < base + size) return reason;
  }
  return null;
}

/** The eight 16-bit groups of an IPv6 address (with an embedded dotted IPv4 tail expanded). */
function ip6Groups(address: string): number[] {
  let text = address.split('%')[0] ?? address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted !== null) {
    const n = ip4(dotted[1] as string);
    text = `${text.slice(0, dotted.index)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (s: string | undefined) =>
    s === undefined || s === '' ? [] : s.split(':').map((g) => parseInt(g, 16));
  const left = parse(head);
  const right = parse(tail);
  const fill = tail === undefined ? [] : new Array<number>(8 - left.length - right.length).fill(0);
  return [...left, ...fill, ...right];
}

function embeddedV4(g: number[], from: number): string {
  const hi = g[from] ?? 0;
  const lo = g[from + 1] ?? 0;
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

function v6Problem(address: string): string | null {
  const g = ip6Groups(address);
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 8)) return 'unspecified';
  if (zeros(0, 7) && g[7] === 1) return 'loopback';
  // IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d, IPv4-translated ::ffff:0:a.b.c.d: judged by their IPv4.
  if (zeros(0, 5) && g[5] === 0xffff) return mapped(embeddedV4(g, 6), 'IPv4-mapped');
  if (zeros(0, 6)) return mapped(embeddedV4(g, 6), 'IPv4-compatible');
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return mapped(embeddedV4(g, 6), 'IPv4-translated');
  const first = g[0] as number;
  if (first === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return mapped(embeddedV4(g, 6), 'NAT64');
  if (first === 0x64 && g[1] === 0xff9b && g[2] === 1) return 'local-use NAT64';
  if (first === 0x2002) return mapped(embeddedV4(g, 1), '6to4');
  if (first === 0x2001 && g[1] === 0) return 'Teredo';
  if (first === 0x2001 && g[1] === 0xdb8) return 'documentation';
  if (first === 0x100 && zeros(1, 4)) return 'discard-only';
  if ((first & 0xfe00) === 0xfc00) return 'unique local (ULA, fc00::/7)';
  if ((first & 0xffc0) === 0xfe80) return 'link-local';
  if ((first & 0xffc0) === 0xfec0) return 'site-local';
  if ((first & 0xff00) === 0xff00) return 'multicast';
  return null;
}

function mapped(v4: string, form: string): string | null {
  const inner = v4Problem(v4);
  return inner === null ? null : `${form} ${inner}`;
}

/**
 * Why a webhook may not be sent to this IP address (loopback, private, CGNAT, link-local, ULA, unspecified, multicast,
 * metadata, or an IPv6 form of one of those), or null for a public unicast address.
 */
export function addressProblem(address: string): string | null {
  const unbracketed = address.replace(/^\[(.*)\]$/, '$1');
  const family = isIP(unbracketed);
  if (family === 4) return v4Problem(unbracketed);
  if (family === 6) return v6Problem(unbracketed);
  return 'not an IP address';
}

/** "a loopback address", "an IPv4-mapped loopback address". */
export function describeRefusal(problem: string): string {
  return `${/^[aeiouAEIOU]/.test(problem) ? 'an' : 'a'} ${problem} address`;
}

export const ALLOW_PRIVATE_HINT = 'set WEBHOOK_ALLOW_PRIVATE=true to allow private destinations';

export class WebhookAddressError extends Error {
  readonly code = 'EWEBHOOKADDRESS';
}

/** The URL's host as the WHATWG parser normalized it (0x7f000001, 2130706433, 0177.0.0.1 all become 127.0.0.1), unbracketed. */
export function urlHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * Why `rawUrl` may not be a webhook destination, or null. An IP literal is judged as it is; a name is resolved and
 * refused if any of its addresses is refused. A name that does not resolve (yet) is accepted: every delivery resolves
 * and checks again.
 */
export async function webhookUrlProblem(
  rawUrl: string,
  opts: { allowPrivate: boolean; resolve?: Resolver },
): Promise<string | null> {
  if (opts.allowPrivate) return null;
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return 'not a URL';
  }
  const host = urlHost(url);
  if (isIP(host) !== 0) {
    const problem = addressProblem(host);
    return problem === null ? null : `${url.hostname} is ${describeRefusal(problem)}; ${ALLOW_PRIVATE_HINT}`;
  }
  let addresses: LookupAddress[];
  try {
    addresses = await (opts.resolve ?? systemResolver)(host);
  } catch {
    return null;
  }
  for (const { address } of addresses) {
    const problem = addressProblem(address);
    if (problem !== null) return `${host} resolves to ${address}, ${describeRefusal(problem)}; ${ALLOW_PRIVATE_HINT}`;
  }
  return null;
}

/**
 * A socket `lookup` that resolves with `resolve` and fails the connection when any address is refused: the address
 * the socket connects to is one this function checked (no second resolution in between).
 */
export function guardedLookup(opts: { allowPrivate: boolean; resolve?: Resolver }): LookupFunction {
  const resolve = opts.resolve ?? systemResolver;
  return (hostname, options, callback) => {
    const family = typeof options === 'object' && options !== null ? options.family : undefined;
    resolve(hostname).then(
      (all) => {
        const wanted = all.filter((a) => family === undefined || family === 0 || a.family === family);
        if (!opts.allowPrivate) {
          for (const { address } of wanted) {
            const problem = addressProblem(address);
            if (problem !== null) {
              callback(
                new WebhookAddressError(
                  `${hostname} resolves to ${address}, ${describeRefusal(problem)}; ${ALLOW_PRIVATE_HINT}`,
                ),
                '',
                4,
              );
              return;
            }
          }
        }
        const first = wanted[0];
        if (first === undefined) {
          callback(Object.assign(new Error(`${hostname}: no address`), { code: 'ENOTFOUND' }), '', 4);
          return;
        }
        if (typeof options === 'object' && options !== null && options.all === true)
          (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, wanted);
        else callback(null, first.address, first.family);
      },
      (err: unknown) => callback(err as NodeJS.ErrnoException, '', 4),
    );
  };
}
