/**
 * Which hosts a user-chosen URL may name, beyond the outbound guard's address
 * rules: `*` allows any, `*.example.com` any host under example.com, anything
 * else that host exactly (case-insensitive).
 */
export function hostAllowed(url: URL, patterns: readonly string[]): boolean {
  const host = url.hostname.toLowerCase();
  return patterns.some((p) => p === '*' || (p.startsWith('*.') ? host.endsWith(p.slice(1)) && host.length > p.length - 1 : host === p));
}

/** A comma-separated list as patterns (blank entries dropped). */
export const hostPatterns = (list: string): string[] =>
  list
    .split(',')
    .map((p) => p.trim().toLowerCase())
    .filter((p) => p.length > 0);
