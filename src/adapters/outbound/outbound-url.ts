import { isIP } from 'node:net';
import { isForbiddenAddress } from './forbidden-addresses.js';

export type OutboundUrlCheck = { readonly ok: true; readonly url: URL } | { readonly ok: false; readonly reason: string };

/** Longer URLs are refused: nobody needs one, and they end up in logs and rows. */
export const MAX_OUTBOUND_URL_LENGTH = 2048;

/**
 * Whether a URL given by a user or staff may be requested later, checked when
 * it is given: syntax, scheme (`https:` only unless private targets are
 * allowed), no credentials, and no literal private address. Host names are
 * resolved and checked when the request connects (outboundRequest), since
 * what a name resolves to can change after this check.
 */
export function checkOutboundUrl(input: string, allowPrivate: boolean): OutboundUrlCheck {
  if (input.length > MAX_OUTBOUND_URL_LENGTH) return { ok: false, reason: `must be at most ${MAX_OUTBOUND_URL_LENGTH} characters` };
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return { ok: false, reason: 'must be an absolute URL' };
  }
  const schemes = allowPrivate ? ['https:', 'http:'] : ['https:'];
  if (!schemes.includes(url.protocol)) return { ok: false, reason: allowPrivate ? 'must be an http(s) URL' : 'must be an https URL' };
  if (url.username !== '' || url.password !== '') return { ok: false, reason: 'must not carry credentials' };
  if (url.hostname === '') return { ok: false, reason: 'must name a host' };
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!allowPrivate && isIP(host) !== 0 && isForbiddenAddress(host)) {
    return { ok: false, reason: 'must not point to a private, loopback, link-local or otherwise non-public address' };
  }
  return { ok: true, url };
}
