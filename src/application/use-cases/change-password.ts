import { fail, ok, type Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import type { Broadcaster } from '../ports/fanout.js';
import type { SessionRepository } from '../ports/session-repository.js';
import type { Clock, PasswordHasher } from '../ports/services.js';
import type { UserRepository } from '../ports/user-repository.js';
import type { ChangePasswordInput } from '../schemas.js';
import type { Device, Sessions, SignedIn } from '../sessions.js';

/**
 * A new password ends every session of the user and closes all their
 * connections, on every process; the caller gets a fresh session to go on with.
 */
export class ChangePassword {
  constructor(
    private readonly users: UserRepository,
    private readonly sessionStore: SessionRepository,
    private readonly sessions: Sessions,
    private readonly hasher: PasswordHasher,
    private readonly broadcaster: Broadcaster,
    private readonly clock: Clock,
  ) {}

  async execute(actor: Actor, input: ChangePasswordInput, device: Device): Promise<Result<SignedIn>> {
    const user = await this.users.findById(actor.id);
    if (!user || !(await this.hasher.verify(input.current_password, user.passwordHash))) {
      return fail('INVALID_CREDENTIALS', 'The current password is wrong');
    }
    const now = this.clock.now();
    await this.users.changePassword(user.id, await this.hasher.hash(input.new_password), now);
    await this.sessionStore.revokeAll(user.id, now);
    await this.broadcaster.accessChanged({ userId: user.id, sessionId: null, change: 'credentials' });
    return ok(await this.sessions.open(user, device));
  }
}
