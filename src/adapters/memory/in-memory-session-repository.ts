import { isLive, type Session } from '../../domain/session.js';
import type { NewSession, Rotation, SessionRepository } from '../../application/ports/session-repository.js';

/** Sessions for one process and for tests: the same promises as the database tables. */
export class InMemorySessionRepository implements SessionRepository {
  private readonly sessions = new Map<string, Session>();
  private readonly tokens = new Map<string, { sessionId: string; retired: boolean }>();

  async create(s: NewSession, refreshTokenHash: string, now: Date): Promise<Session> {
    const session: Session = { ...s, createdAt: now, lastUsedAt: now, revokedAt: null };
    this.sessions.set(s.id, session);
    this.tokens.set(refreshTokenHash, { sessionId: s.id, retired: false });
    return session;
  }

  async rotate(
    presentedHash: string,
    nextHash: string,
    now: Date,
    expiresAt: Date,
    device: { deviceLabel: string | null; ip: string | null },
  ): Promise<Rotation> {
    const token = this.tokens.get(presentedHash);
    const session = token && this.sessions.get(token.sessionId);
    if (!token || !session) return { kind: 'unknown' };
    if (token.retired) {
      const revoked: Session = { ...session, revokedAt: session.revokedAt ?? now };
      this.sessions.set(session.id, revoked);
      return { kind: 'reused', session: revoked };
    }
    if (!isLive(session, now)) return { kind: 'unknown' };
    token.retired = true;
    this.tokens.set(nextHash, { sessionId: session.id, retired: false });
    const touched: Session = { ...session, lastUsedAt: now, expiresAt, deviceLabel: device.deviceLabel ?? session.deviceLabel, ip: device.ip ?? session.ip };
    this.sessions.set(session.id, touched);
    return { kind: 'rotated', session: touched };
  }

  async findById(id: string): Promise<Session | null> {
    return this.sessions.get(id) ?? null;
  }

  async listLive(userId: number, now: Date): Promise<Session[]> {
    return [...this.sessions.values()].filter((s) => s.userId === userId && isLive(s, now)).sort((a, b) => b.lastUsedAt.getTime() - a.lastUsedAt.getTime());
  }

  async revoke(id: string, now: Date): Promise<boolean> {
    const session = this.sessions.get(id);
    if (!session || session.revokedAt) return false;
    this.sessions.set(id, { ...session, revokedAt: now });
    return true;
  }

  async revokeAll(userId: number, now: Date, exceptId?: string): Promise<number> {
    let n = 0;
    for (const s of this.sessions.values()) if (s.userId === userId && s.id !== exceptId && (await this.revoke(s.id, now))) n += 1;
    return n;
  }
}
