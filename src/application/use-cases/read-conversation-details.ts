import { ok, type Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import { conversationOfParticipant, messageNotFound } from '../access.js';
import type { ConversationRepository } from '../ports/conversation-repository.js';
import type { MessageHistory, MessageVersion, ParticipantReadState, ReadStates } from '../ports/conversation-features.js';
import type { MessageRepository } from '../ports/message-repository.js';

/** `GET /conversations/:id/read-state`: how far each participant has read. */
export class GetReadState {
  constructor(
    private readonly conversations: ConversationRepository,
    private readonly readStates: ReadStates,
  ) {}

  async execute(actor: Actor, conversationId: number): Promise<Result<ParticipantReadState[]>> {
    const found = await conversationOfParticipant(this.conversations, conversationId, actor);
    if (!found.ok) return found;
    return ok(await this.readStates.ofConversation(conversationId));
  }
}

/** `GET /messages/:id/versions`: a message's prior versions, for its conversation's participants. */
export class GetMessageVersions {
  constructor(
    private readonly conversations: ConversationRepository,
    private readonly messages: MessageRepository,
    private readonly history: MessageHistory,
  ) {}

  async execute(actor: Actor, messageId: number): Promise<Result<MessageVersion[]>> {
    const message = await this.messages.findById(messageId);
    if (!message || !(await this.conversations.isParticipant(message.conversationId, actor.id))) return messageNotFound(messageId);
    return ok(await this.history.versions(messageId));
  }
}
