/** A token bucket per key (an IP address, a user), in a bounded map: the least recently used keys go first. */
export class KeyedLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  /**
   * @param perMinute sustained rate; 0 turns the limit off
   * @param burst requests allowed at once @default perMinute
   * @param maxKeys keys remembered @default 100000
   */
  constructor(
    private readonly perMinute: number,
    private readonly burst = perMinute,
    private readonly maxKeys = 100_000,
  ) {}

  /** Takes one request's worth; null when allowed, else the seconds until one is. */
  take(key: string, now = performance.now()): number | null {
    if (this.perMinute <= 0) return null;
    const ratePerMs = this.perMinute / 60_000;
    let bucket = this.buckets.get(key);
    if (bucket) {
      this.buckets.delete(key);
      bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.at) * ratePerMs);
      bucket.at = now;
    } else {
      bucket = { tokens: this.burst, at: now };
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
    }
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) return Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerMs / 1000));
    bucket.tokens -= 1;
    return null;
  }
}

export interface RequestLimitsOptions {
  /** Logins per IP address per minute. */
  readonly loginPerIp: number;
  /** Registrations per IP address per minute. */
  readonly registerPerIp: number;
  /** Messages sent over REST per user per minute. */
  readonly restSendsPerUser: number;
  /** Conversations created per user per minute. */
  readonly conversationsPerUser: number;
  /** Password reset requests per IP address per minute. @default 5 */
  readonly passwordResetPerIp?: number;
  /** Message searches per user per minute. @default 30 */
  readonly searchesPerUser?: number;
  /** Directory searches per user per minute. @default 0 (off) */
  readonly directoryPerUser?: number;
  /** Reports per user per hour (a burst of up to 5 at once). @default 0 (off) */
  readonly reportsPerUserPerHour?: number;
}

export type RequestLimit = 'login' | 'register' | 'restSend' | 'createConversation' | 'passwordReset' | 'search' | 'directory' | 'report';

/** The per-IP and per-user request limits of the REST API (per process). */
export class RequestLimits {
  private readonly limiters: Record<RequestLimit, { limiter: KeyedLimiter; by: 'ip' | 'user' }>;

  constructor(options: RequestLimitsOptions) {
    this.limiters = {
      login: { limiter: new KeyedLimiter(options.loginPerIp), by: 'ip' },
      register: { limiter: new KeyedLimiter(options.registerPerIp), by: 'ip' },
      restSend: { limiter: new KeyedLimiter(options.restSendsPerUser), by: 'user' },
      createConversation: { limiter: new KeyedLimiter(options.conversationsPerUser), by: 'user' },
      passwordReset: { limiter: new KeyedLimiter(options.passwordResetPerIp ?? 5), by: 'ip' },
      search: { limiter: new KeyedLimiter(options.searchesPerUser ?? 30), by: 'user' },
      directory: { limiter: new KeyedLimiter(options.directoryPerUser ?? 0), by: 'user' },
      report: { limiter: new KeyedLimiter((options.reportsPerUserPerHour ?? 0) / 60, Math.min(5, options.reportsPerUserPerHour ?? 0)), by: 'user' },
    };
  }

  keyedBy(limit: RequestLimit): 'ip' | 'user' {
    return this.limiters[limit].by;
  }

  take(limit: RequestLimit, key: string): number | null {
    return this.limiters[limit].limiter.take(key);
  }
}

/**
 * The client's address: the socket's peer, or, behind `hops` trusted proxies,
 * the address the outermost of them saw (counted from the right of
 * X-Forwarded-For, so a client cannot forge it by sending its own header).
 */
export function clientAddress(peer: string, forwardedFor: string, hops: number): string {
  if (hops <= 0 || !forwardedFor) return peer;
  const chain = forwardedFor
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return chain[chain.length - hops] ?? chain[0] ?? peer;
}
