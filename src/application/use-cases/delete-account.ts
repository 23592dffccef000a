import type { Actor } from '../../domain/user.js';
import type { UserRepository } from '../ports/user-repository.js';
import type { Clock } from '../ports/services.js';

/** Soft-deletes the caller's account; its tokens stop working at once. */
export class DeleteAccount {
  constructor(
    private readonly users: UserRepository,
    private readonly clock: Clock,
  ) {}

  async execute(actor: Actor): Promise<void> {
    await this.users.softDelete(actor.id, this.clock.now());
  }
}
