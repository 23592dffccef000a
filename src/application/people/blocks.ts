import { fail, ok, type Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import type { Broadcaster } from '../ports/fanout.js';
import type { BlockEntry, PeopleRepository } from '../ports/people.js';
import type { Clock } from '../ports/services.js';

/**
 * Blocking: between the two, no direct conversation opens, nothing is sent
 * into their direct conversation, and no typing is shown there (either way).
 * Groups they share are not affected (docs/API.md). The direct conversation's
 * cached "blocked" state is dropped on every process at once.
 */
export class Blocks {
  constructor(
    private readonly people: PeopleRepository,
    private readonly broadcaster: Broadcaster,
    private readonly clock: Clock,
  ) {}

  async block(actor: Actor, userId: number): Promise<Result<{ user_id: number; blocked: true }>> {
    if (userId === actor.id) return fail('CANNOT_BLOCK_SELF', 'You cannot block yourself');
    if (!(await this.people.find(userId))) return fail('USER_NOT_FOUND', `User ${userId} does not exist`);
    if (!(await this.people.block(actor.id, userId, this.clock.now()))) return fail('ALREADY_BLOCKED', `You already block user ${userId}`);
    await this.forgetDirect(actor.id, userId);
    return ok({ user_id: userId, blocked: true });
  }

  async unblock(actor: Actor, userId: number): Promise<Result<{ user_id: number; blocked: false }>> {
    if (!(await this.people.unblock(actor.id, userId))) return fail('NOT_BLOCKED', `You do not block user ${userId}`);
    await this.forgetDirect(actor.id, userId);
    return ok({ user_id: userId, blocked: false });
  }

  list(actor: Actor): Promise<BlockEntry[]> {
    return this.people.blocks(actor.id);
  }

  private async forgetDirect(a: number, b: number): Promise<void> {
    const direct = await this.people.directConversation(a, b);
    if (direct !== null) await this.broadcaster.conversationsChanged([direct]);
  }
}
