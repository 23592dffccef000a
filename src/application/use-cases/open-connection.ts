import { ok, type Result } from '../../domain/result.js';
import { actorOf, type Actor } from '../../domain/user.js';
import type { ConversationRepository } from '../ports/conversation-repository.js';
import type { Authenticate } from './authenticate.js';

export interface OpenedConnection {
  readonly actor: Actor;
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
    const user = await this.authenticate.execute(token);
    if (!user.ok) return user;
    return ok({ actor: actorOf(user.value), conversationIds: await this.conversations.conversationIdsOf(user.value.id) });
  }
}
