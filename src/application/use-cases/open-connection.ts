import { ok, type Result } from '../../domain/result.js';
import { actorOf, type Actor } from '../../domain/user.js';
import type { ConversationRepository } from '../ports/conversation-repository.js';
import type { Authenticate } from './authenticate.js';

export interface OpenedConnection {
  readonly actor: Actor;
  readonly sessionId: string | null;
  /** The conversations the new connection follows from its first moment. */
  readonly conversationIds: number[];
}

/** Authenticates a realtime connection and lists what it will receive. */
export class OpenConnection {
  constructor(
    private readonly authenticate: Authenticate,
    private readonly conversations: ConversationRepository,
  ) {}

  async execute(token: string | null | undefined): Promise<Result<OpenedConnection>> {
    const found = await this.authenticate.execute(token);
    if (!found.ok) return found;
    const { user, sessionId } = found.value;
    return ok({ actor: actorOf(user), sessionId, conversationIds: await this.conversations.conversationIdsOf(user.id) });
  }
}
