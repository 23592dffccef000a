import { randomBytes } from 'node:crypto';

/** Where another process serves its Engine.IO sessions: a loopback port. */
export interface PeerAddress {
  readonly port: number;
}

/**
 * The processes of one cluster (`WORKERS=N`) and the Engine.IO sessions each
 * owns. A session lives in the process that opened it; its id starts with
 * that process's tag (`w3.…`), so any process can tell, from the id alone,
 * where to forward a long-polling request or an upgrade for it.
 */
export class SessionPeers {
  private peers = new Map<string, PeerAddress>();

  /** @param self this process's tag: letters and digits, no dot */
  constructor(readonly self: string) {}

  /** The cluster as the supervisor last described it: tag → loopback port (this process's own included or not). */
  update(peers: Readonly<Record<string, number>>): void {
    this.peers = new Map(Object.entries(peers).map(([tag, port]) => [tag, { port }]));
  }

  /** A new session id that names this process. */
  generateId(): string {
    return `${this.self}.${randomBytes(15).toString('base64url')}`;
  }

  /**
   * Who serves the session: null for this process (or an id that names no
   * process, left to Engine.IO to answer), the peer's address, or `gone` for a
   * process that is not running (its sessions are unknown now).
   */
  ownerOf(sid: string): PeerAddress | 'gone' | null {
    const dot = sid.indexOf('.');
    if (dot <= 0) return null;
    const tag = sid.slice(0, dot);
    if (tag === this.self) return null;
    return this.peers.get(tag) ?? 'gone';
  }
}
