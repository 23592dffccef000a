import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * Addresses an outbound request must never reach unless private targets are
 * allowed (development and tests): everything that is not the public
 * internet. Each row names why, so the table reads as the policy.
 */
export const FORBIDDEN_RANGES: ReadonlyArray<readonly [cidr: string, why: string]> = [
  ['0.0.0.0/8', 'unspecified ("this network")'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'carrier-grade NAT'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local (cloud metadata services)'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'IETF protocol assignments'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', '6to4 relay anycast'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved and broadcast'],
  ['::/96', 'unspecified, loopback and IPv4-compatible'],
  ['64:ff9b:1::/48', 'local-use NAT64'],
  ['100::/64', 'discard-only'],
  ['2001:db8::/32', 'documentation'],
  ['3fff::/20', 'documentation'],
  ['fc00::/7', 'unique local'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'site-local'],
  ['ff00::/8', 'multicast'],
];

const blocked = new BlockList();
for (const [cidr] of FORBIDDEN_RANGES) {
  const [net, bits] = cidr.split('/') as [string, string];
  blocked.addSubnet(net, Number(bits), isIPv4(net) ? 'ipv4' : 'ipv6');
}

/** The IPv4 address an IPv6 address carries (IPv4-mapped, NAT64 well-known prefix, 6to4), or null. */
function embeddedIPv4(address: string): string | null {
  const words = ipv6Words(address);
  if (!words) return null;
  const zeros = (from: number, to: number) => words.slice(from, to).every((w) => w === 0);
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  if (zeros(0, 5) && words[5] === 0xffff) return v4(words[6]!, words[7]!); // ::ffff:a.b.c.d
  if (words[0] === 0x64 && words[1] === 0xff9b && zeros(2, 6)) return v4(words[6]!, words[7]!); // 64:ff9b::a.b.c.d
  if (words[0] === 0x2002) return v4(words[1]!, words[2]!); // 2002:aabb:ccdd::/48
  return null;
}

/** The eight 16-bit words of an IPv6 address (with an optional dotted IPv4 tail), or null if it is not one. */
function ipv6Words(address: string): number[] | null {
  if (!isIPv6(address)) return null;
  let text = address.replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = text.slice(0, dotted.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const part = (s: string) => (s === '' ? [] : s.split(':').map((w) => parseInt(w, 16)));
  const left = part(head);
  const right = tail === undefined ? [] : part(tail);
  const fill = tail === undefined ? [] : new Array<number>(8 - left.length - right.length).fill(0);
  return [...left, ...fill, ...right];
}

/**
 * Whether an IP address is outside the public internet: private, loopback,
 * link-local, unspecified, multicast, CGNAT, unique local, documentation and
 * other special ranges, also when an IPv6 address carries such an IPv4 one.
 * Anything that is not an IP address counts as forbidden.
 */
export function isForbiddenAddress(address: string): boolean {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (isIPv4(bare)) return blocked.check(bare, 'ipv4');
  if (!isIPv6(bare)) return true;
  const inner = embeddedIPv4(bare);
  if (inner !== null && blocked.check(inner, 'ipv4')) return true;
  return blocked.check(bare.replace(/%.*$/, ''), 'ipv6');
}
