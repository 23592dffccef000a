import { fail, ok, type Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import { conversationOfParticipant } from '../access.js';
import type { Broadcaster } from '../ports/fanout.js';
import type { ConversationRepository } from '../ports/conversation-repository.js';
import type { MessageRepository } from '../ports/message-repository.js';
import type { Clock } from '../ports/services.js';
import type { MarkReadInput } from '../schemas.js';

export interface ReadReceipt {
  readonly conversation_id: number;
  readonly message_id: number;
  readonly read_at: string;
}

/** Moves the reader's marker and stamps read_at on the covered messages that others sent. */
export class MarkRead {
  constructor(
    private readonly conversations: ConversationRepository,
    private readonly messages: MessageRepository,
    private readonly broadcaster: Broadcaster,
    private readonly clock: Clock,
  ) {}

  async execute(actor: Actor, input: MarkReadInput): Promise<Result<ReadReceipt>> {
    const access = await conversationOfParticipant(this.conversations, input.conversation_id, actor);
    if (!access.ok) return access;
    const message = await this.messages.findById(input.message_id);
    if (!message || message.conversationId !== input.conversation_id) {
      return fail('MESSAGE_NOT_FOUND', `Message ${input.message_id} is not in this conversation`);
    }
    const at = this.clock.now();
    const marker = await this.conversations.advanceReadMarker(input.conversation_id, actor.id, message.id, at);
    if (marker.current > marker.previous) await this.messages.markReadBetween(input.conversation_id, actor.id, marker.previous, marker.current, at);
    const receipt = { conversation_id: input.conversation_id, message_id: message.id, read_at: at.toISOString() };
    await this.broadcaster.toConversation(input.conversation_id, 'readReceipt', { ...receipt, user_id: actor.id });
    return ok(receipt);
  }
}
