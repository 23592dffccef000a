/** An allow-list of browser origins; empty means any origin. */
export class CorsPolicy {
  private readonly any: boolean;
  private readonly origins: Set<string>;

  constructor(origins: readonly string[]) {
    this.origins = new Set(origins.filter((o) => o !== '*'));
    this.any = origins.length === 0 || origins.includes('*');
  }

  /**
   * Requests without an Origin header (non-browser clients) are always allowed, and so is the
   * server's own origin when `host` (the request's Host header) is given: the browser app served
   * at `/` sends its Origin on every POST and on its upgrade.
   */
  allows(origin: string, host = ''): boolean {
    return origin === '' || this.any || this.origins.has(origin) || (host !== '' && sameOrigin(origin, host));
  }

  /** The headers to add to a response for this Origin. */
  headers(origin: string): Array<[string, string]> {
    if (origin === '' || !this.allows(origin)) return [];
    return [
      ['Access-Control-Allow-Origin', this.any ? '*' : origin],
      ['Vary', 'Origin'],
      ['Access-Control-Expose-Headers', 'Retry-After'],
    ];
  }

  preflightHeaders(origin: string): Array<[string, string]> {
    return [
      ...this.headers(origin),
      ['Access-Control-Allow-Methods', 'GET, POST, PUT, PATCH, DELETE, OPTIONS'],
      ['Access-Control-Allow-Headers', 'Authorization, Content-Type'],
      ['Access-Control-Max-Age', '600'],
    ];
  }
}

/** `http://host:port` or `https://host:port` naming the host the request was sent to. */
function sameOrigin(origin: string, host: string): boolean {
  const scheme = /^https?:\/\//i.exec(origin);
  return scheme !== null && origin.slice(scheme[0].length).toLowerCase() === host.toLowerCase();
}
