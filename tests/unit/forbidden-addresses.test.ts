import { BlockList, isIP, isIPv4 } from 'node:net';
import { describe, expect, it } from 'vitest';
import { FORBIDDEN_RANGES, isForbiddenAddress } from '../../src/adapters/outbound/forbidden-addresses.js';
import { checkOutboundUrl } from '../../src/adapters/outbound/outbound-url.js';

/** One address inside each range (and its edges where they matter), and public neighbours just outside. */
const FORBIDDEN: ReadonlyArray<readonly [string, string]> = [
  ['0.0.0.0', 'unspecified'],
  ['0.255.255.255', 'this network, last'],
  ['10.0.0.1', 'private 10/8'],
  ['10.255.255.255', 'private 10/8, last'],
  ['100.64.0.1', 'CGNAT, first'],
  ['100.127.255.254', 'CGNAT, last'],
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback, far end'],
  ['169.254.169.254', 'cloud metadata (link-local)'],
  ['172.16.0.1', 'private 172.16/12, first'],
  ['172.31.255.255', 'private 172.16/12, last'],
  ['192.0.0.8', 'IETF protocol assignments'],
  ['192.0.2.10', 'TEST-NET-1'],
  ['192.88.99.1', '6to4 relay anycast'],
  ['192.168.1.1', 'private 192.168/16'],
  ['198.18.0.1', 'benchmarking'],
  ['198.51.100.7', 'TEST-NET-2'],
  ['203.0.113.9', 'TEST-NET-3'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast (SSDP)'],
  ['240.0.0.1', 'reserved'],
  ['255.255.255.255', 'broadcast'],
  ['::', 'IPv6 unspecified'],
  ['::1', 'IPv6 loopback'],
  ['::ffff:127.0.0.1', 'IPv4-mapped loopback (dotted)'],
  ['::ffff:7f00:1', 'IPv4-mapped loopback (hex)'],
  ['::ffff:10.1.2.3', 'IPv4-mapped private'],
  ['::ffff:169.254.169.254', 'IPv4-mapped metadata'],
  ['0:0:0:0:0:ffff:c0a8:0101', 'IPv4-mapped private, long form'],
  ['::127.0.0.1', 'IPv4-compatible loopback'],
  ['64:ff9b::a00:1', 'NAT64 of a private address'],
  ['64:ff9b::7f00:1', 'NAT64 of loopback'],
  ['64:ff9b:1::1', 'local-use NAT64'],
  ['2002:7f00:1::1', '6to4 of loopback'],
  ['2002:a00:1::', '6to4 of a private address'],
  ['100::1', 'discard-only'],
  ['2001:db8::1', 'IPv6 documentation'],
  ['3fff::1', 'IPv6 documentation (3fff::/20)'],
  ['fc00::1', 'unique local, fc'],
  ['fd12:3456:789a::1', 'unique local, fd'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local with a zone'],
  ['febf:ffff::1', 'link-local, last'],
  ['fec0::1', 'site-local'],
  ['ff02::1', 'IPv6 multicast'],
  ['[::1]', 'bracketed loopback as in a URL'],
  ['not-an-address', 'not an IP address at all'],
];

const PUBLIC: readonly string[] = [
  '1.1.1.1',
  '8.8.8.8',
  '9.255.255.255', // just below 10/8
  '11.0.0.0', // just above 10/8
  '100.63.255.255', // just below CGNAT
  '100.128.0.0', // just above CGNAT
  '126.255.255.255',
  '128.0.0.0',
  '169.253.255.255',
  '172.15.255.255',
  '172.32.0.0',
  '192.167.255.255',
  '192.169.0.0',
  '198.17.255.255',
  '198.20.0.0',
  '223.255.255.255', // just below multicast
  '::ffff:8.8.8.8',
  '64:ff9b::808:808', // NAT64 of 8.8.8.8
  '2002:808:808::1', // 6to4 of 8.8.8.8
  '2606:4700:4700::1111',
  '2001:4860:4860::8888',
  'fbff:ffff::1', // just below fc00::/7
  'fe00::1', // between ULA and link-local
];

describe('the outbound guard’s address table', () => {
  it.each(FORBIDDEN)('refuses %s (%s)', (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each(PUBLIC)('allows the public address %s', (address) => {
    expect(isForbiddenAddress(address)).toBe(false);
  });

  it('has an example above inside every range of the table', () => {
    const uncovered = FORBIDDEN_RANGES.filter(([cidr]) => {
      const [net, bits] = cidr.split('/') as [string, string];
      const range = new BlockList();
      range.addSubnet(net, Number(bits), isIPv4(net) ? 'ipv4' : 'ipv6');
      return !FORBIDDEN.some(([a]) => isIP(a) !== 0 && range.check(a, isIPv4(a) ? 'ipv4' : 'ipv6'));
    });
    expect(uncovered).toEqual([]);
  });
});

describe('checkOutboundUrl', () => {
  it.each([
    ['not a url', 'must be an absolute URL'],
    ['http://example.com/hook', 'must be an https URL'],
    ['ftp://example.com/hook', 'must be an https URL'],
    ['https://user:pass@example.com/hook', 'must not carry credentials'],
    ['https://127.0.0.1/hook', 'must not point'],
    ['https://0x7f.1/hook', 'must not point'], // the URL parser normalises it to 127.0.0.1
    ['https://[::1]/hook', 'must not point'],
    ['https://[::ffff:a9fe:a9fe]/hook', 'must not point'],
    ['https://169.254.169.254/latest/meta-data', 'must not point'],
    [`https://example.com/${'a'.repeat(2048)}`, 'must be at most 2048 characters'],
  ])('refuses %s without private targets allowed', (url, reason) => {
    const checked = checkOutboundUrl(url, false);
    expect(checked).toMatchObject({ ok: false });
    expect(checked.ok ? '' : checked.reason).toContain(reason);
  });

  it('accepts an https URL with a host name (resolved and checked when connecting) or a public address', () => {
    expect(checkOutboundUrl('https://hooks.example.com/in?x=1', false)).toMatchObject({ ok: true });
    expect(checkOutboundUrl('https://localhost:8443/in', false)).toMatchObject({ ok: true });
    expect(checkOutboundUrl('https://8.8.8.8/in', false)).toMatchObject({ ok: true });
  });

  it('accepts http and private addresses when they are allowed, but still no credentials nor other schemes', () => {
    expect(checkOutboundUrl('http://127.0.0.1:9000/in', true)).toMatchObject({ ok: true });
    expect(checkOutboundUrl('http://[::1]:9000/in', true)).toMatchObject({ ok: true });
    expect(checkOutboundUrl('http://u:p@127.0.0.1/in', true)).toMatchObject({ ok: false });
    expect(checkOutboundUrl('file:///etc/passwd', true)).toMatchObject({ ok: false });
  });
});
