import type { Session } from '../../domain/session.js';
import { fail, ok, type Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import type { Broadcaster } from '../ports/fanout.js';
import type { SessionRepository } from '../ports/session-repository.js';
import type { Clock } from '../ports/services.js';

/** The caller's live sessions (their devices), most recently used first. */
export class ListSessions {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly clock: Clock,
  ) {}

  execute(actor: Actor): Promise<Session[]> {
    return this.sessions.listLive(actor.id, this.clock.now());
  }
}

/** Ends one of the caller's sessions (a lost phone): its connections close on every process. */
export class RevokeSession {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly broadcaster: Broadcaster,
    private readonly clock: Clock,
  ) {}

  async execute(actor: Actor, sessionId: string): Promise<Result<{ id: string }>> {
    const session = await this.sessions.findById(sessionId);
    // Someone else's session is answered as if it did not exist.
    if (!session || session.userId !== actor.id || !(await this.sessions.revoke(sessionId, this.clock.now()))) {
      return fail('SESSION_NOT_FOUND', `Session ${sessionId.slice(0, 64)} does not exist`);
    }
    await this.broadcaster.accessChanged({ userId: actor.id, sessionId, change: 'revoked' });
    return ok({ id: sessionId });
  }
}
