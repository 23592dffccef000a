import { ok, type Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import { conversationOfParticipant, presenceFor, type ParticipantPresence } from '../access.js';
import type { ConversationRepository } from '../ports/conversation-repository.js';
import type { PresenceStore } from '../ports/presence-store.js';

/** A conversation's participants, each with whether they are online and when they were last seen. */
export class ListParticipants {
  constructor(
    private readonly conversations: ConversationRepository,
    private readonly presence: PresenceStore,
  ) {}

  async execute(actor: Actor, conversationId: number): Promise<Result<ParticipantPresence[]>> {
    const found = await conversationOfParticipant(this.conversations, conversationId, actor);
    if (!found.ok) return found;
    return ok(await presenceFor(this.conversations, found.value, await this.conversations.participants(conversationId), this.presence, actor.id));
  }
}
