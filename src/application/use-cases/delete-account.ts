import type { Actor } from '../../domain/user.js';
import type { Broadcaster } from '../ports/fanout.js';
import type { SessionRepository } from '../ports/session-repository.js';
import type { UserRepository } from '../ports/user-repository.js';
import type { Clock } from '../ports/services.js';

/** Soft-deletes the caller's account: every session ends and every connection closes, on every process. */
export class DeleteAccount {
  constructor(
    private readonly users: UserRepository,
    private readonly sessions: SessionRepository,
    private readonly broadcaster: Broadcaster,
    private readonly clock: Clock,
  ) {}

  async execute(actor: Actor): Promise<void> {
    const now = this.clock.now();
    await this.users.softDelete(actor.id, now);
    await this.sessions.revokeAll(actor.id, now);
    await this.broadcaster.accessChanged({ userId: actor.id, sessionId: null, change: 'deleted' });
  }
}
