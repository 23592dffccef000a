/** What the NATS client takes from a URL list: servers without credentials, and the credentials apart. */
export interface NatsServerList {
  /** `host:port`, never with credentials (the client shows servers in its errors and status). */
  readonly servers: string[];
  readonly user?: string;
  readonly pass?: string;
  /** `nats://token@host`: a user name without a password is a token. */
  readonly token?: string;
  readonly tls: boolean;
}

/** Parses `nats://[user:pass@|token@]host[:port]`, several comma-separated; `tls://` asks for TLS; no scheme means `nats://`. */
export function parseNatsUrl(url: string): NatsServerList {
  let credentials: Pick<NatsServerList, 'user' | 'pass' | 'token'> | undefined;
  let tls = false;
  const servers = url
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const u = new URL(s.includes('://') ? s : `nats://${s}`);
      if (u.protocol === 'tls:') tls = true;
      if (credentials === undefined && u.username) {
        const name = decodeURIComponent(u.username);
        credentials = u.password ? { user: name, pass: decodeURIComponent(u.password) } : { token: name };
      }
      return `${u.hostname}:${u.port || '4222'}`;
    });
  if (servers.length === 0) throw new Error('NATS URL lists no server');
  return { servers, tls, ...credentials };
}
