import { fail, ok, type Result } from '../../domain/result.js';
import type { Actor, User } from '../../domain/user.js';
import type { ConversationRepository } from '../ports/conversation-repository.js';
import type { Broadcaster } from '../ports/fanout.js';
import type { PeopleRepository } from '../ports/people.js';
import type { Clock } from '../ports/services.js';
import type { UpdateProfileInput } from './people-schemas.js';

/**
 * The caller changes their display name, phone number or picture. Every
 * process's profile cache forgets them, and everyone who shares a
 * conversation with them (their own other devices included) gets
 * `profileUpdated`.
 */
export class UpdateProfile {
  constructor(
    private readonly people: PeopleRepository,
    private readonly conversations: ConversationRepository,
    private readonly broadcaster: Broadcaster,
    private readonly clock: Clock,
  ) {}

  async execute(actor: Actor, input: UpdateProfileInput): Promise<Result<User>> {
    const user = await this.people.update(
      actor.id,
      {
        ...(input.display_name === undefined ? {} : { displayName: input.display_name }),
        ...(input.phone_number === undefined ? {} : { phoneNumber: input.phone_number }),
        ...(input.picture_url === undefined ? {} : { pictureUrl: input.picture_url }),
      },
      this.clock.now(),
    );
    if (!user) return fail('USER_NOT_FOUND', 'The account no longer exists');
    await this.broadcaster.accessChanged({ userId: actor.id, sessionId: null, change: 'changed' });
    const data = { id: user.id, username: user.username, display_name: user.displayName ?? null, role: user.role, picture_url: user.profilePicture };
    const conversationIds = await this.conversations.conversationIdsOf(actor.id);
    if (conversationIds.length > 0) await this.broadcaster.toConversations(conversationIds, 'profileUpdated', data);
    else await this.broadcaster.toUser(actor.id, 'profileUpdated', data);
    return ok(user);
  }
}
