import { ok, type Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import type { Broadcaster } from '../ports/fanout.js';
import type { SessionRepository } from '../ports/session-repository.js';
import type { Clock } from '../ports/services.js';

/** Logs out: the caller's session is revoked and its connections, on every process, closed. */
export class LogOut {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly broadcaster: Broadcaster,
    private readonly clock: Clock,
  ) {}

  async execute(actor: Actor, sessionId: string | null): Promise<Result<{ revoked: boolean }>> {
    if (!sessionId) return ok({ revoked: false }); // a token of an external identity provider has no session here
    const revoked = await this.sessions.revoke(sessionId, this.clock.now());
    await this.broadcaster.accessChanged({ userId: actor.id, sessionId, change: 'logout' });
    return ok({ revoked });
  }
}
