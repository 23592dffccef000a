import type { Conversation, ParticipantSummary } from '../../domain/conversation.js';
import { fail, ok, type Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import type { Broadcaster } from '../ports/fanout.js';
import type { ConversationRepository } from '../ports/conversation-repository.js';
import type { Clock } from '../ports/services.js';
import type { UserRepository } from '../ports/user-repository.js';
import type { CreateConversationInput } from '../schemas.js';

export interface CreatedConversation {
  readonly conversation: Conversation;
  readonly participants: ParticipantSummary[];
  /** False when an existing direct conversation of the pair was returned. */
  readonly created: boolean;
}

/** One other participant, no title and not open: a direct conversation; anything else: a group. */
export class CreateConversation {
  constructor(
    private readonly conversations: ConversationRepository,
    private readonly users: UserRepository,
    private readonly broadcaster: Broadcaster,
    private readonly clock: Clock,
    /** Groups one user may create per hour; 0 for no cap. */
    private readonly groupsPerHour: number,
  ) {}

  async execute(actor: Actor, input: CreateConversationInput): Promise<Result<CreatedConversation>> {
    const others = [...new Set(input.participant_ids)].filter((id) => id !== actor.id);
    if (others.length === 0) return fail('VALIDATION_FAILED', 'A conversation needs at least one other participant');
    const found = await this.users.findSummaries(others);
    if (found.length !== others.length) {
      const known = new Set(found.map((u) => u.id));
      return fail('USER_NOT_FOUND', 'Some participants do not exist', { missing: others.filter((id) => !known.has(id)) });
    }
    const now = this.clock.now();
    const [other] = others;
    if (other !== undefined && others.length === 1 && !input.title && !input.is_open) {
      if (await this.conversations.blockedBetween(actor.id, other)) return fail('USER_BLOCKED', 'One of the two has blocked the other');
      const { conversation, created } = await this.conversations.findOrCreateDirect(actor.id, other, now);
      if (created) await this.announce(conversation.id, [actor.id, other]);
      return ok({ conversation, participants: await this.conversations.participants(conversation.id), created });
    }
    if (this.groupsPerHour > 0) {
      const since = new Date(now.getTime() - 3_600_000);
      if ((await this.conversations.countGroupsCreatedSince(actor.id, since)) >= this.groupsPerHour) {
        return fail('RATE_LIMITED', `At most ${this.groupsPerHour} groups per hour`, { retry_after_seconds: 600 });
      }
    }
    const conversation = await this.conversations.createGroup(
      { title: input.title ?? null, isOpen: input.is_open, createdBy: actor.id, participantIds: [actor.id, ...others] },
      now,
    );
    await this.announce(conversation.id, [actor.id, ...others]);
    return ok({ conversation, participants: await this.conversations.participants(conversation.id), created: true });
  }

  /** One announcement for every member, however many. */
  private async announce(conversationId: number, userIds: number[]): Promise<void> {
    await this.broadcaster.membershipChanged(userIds.map((userId) => ({ conversationId, userId, added: true })));
  }
}
