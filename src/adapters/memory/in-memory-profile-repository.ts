import type { ConversationRepository } from '../../application/ports/conversation-repository.js';
import type { Profile, ProfileRepository } from '../../application/ports/profile-repository.js';
import type { SessionRepository } from '../../application/ports/session-repository.js';
import type { UserRepository } from '../../application/ports/user-repository.js';

/** For tests: the same answer as the one-query adapter, read from the other in-memory repositories. */
export class InMemoryProfileRepository implements ProfileRepository {
  constructor(
    private readonly users: UserRepository,
    private readonly sessions: SessionRepository,
    private readonly conversations: ConversationRepository,
  ) {}

  async load(userId: number, sessionId: string | null): Promise<Profile> {
    const session = sessionId ? await this.sessions.findById(sessionId) : null;
    return {
      user: await this.users.findById(userId),
      session: session && session.userId === userId ? session : null,
      conversationIds: await this.conversations.conversationIdsOf(userId),
    };
  }
}
