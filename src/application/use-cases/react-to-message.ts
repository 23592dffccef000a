import { fail, ok, type Result } from '../../domain/result.js';
import { isReaction, MAX_DISTINCT_REACTIONS } from '../../domain/reaction.js';
import type { Actor } from '../../domain/user.js';
import { messageNotFound } from '../access.js';
import type { ConversationRepository } from '../ports/conversation-repository.js';
import type { ReactionChange, ReactionStore } from '../ports/conversation-features.js';
import type { Broadcaster } from '../ports/fanout.js';
import type { MessageRepository } from '../ports/message-repository.js';
import type { Clock } from '../ports/services.js';

/** Adds or removes the caller's emoji reaction on a message of one of their conversations; others see `reactionUpdated`. */
export class ReactToMessage {
  constructor(
    private readonly conversations: ConversationRepository,
    private readonly messages: MessageRepository,
    private readonly reactions: ReactionStore,
    private readonly broadcaster: Broadcaster,
    private readonly clock: Clock,
  ) {}

  async execute(actor: Actor, messageId: number, emoji: string, adding: boolean): Promise<Result<ReactionChange>> {
    if (!isReaction(emoji)) return fail('VALIDATION_FAILED', 'emoji: must be one emoji', [{ path: 'emoji', message: 'must be one emoji' }]);
    const message = await this.messages.findById(messageId);
    if (!message || !(await this.conversations.isParticipant(message.conversationId, actor.id))) return messageNotFound(messageId);
    const outcome = await this.reactions.react(messageId, actor.id, emoji, adding, MAX_DISTINCT_REACTIONS, this.clock.now());
    if (outcome.kind === 'missing') return messageNotFound(messageId);
    if (outcome.kind === 'limit')
      return fail('REACTION_LIMIT_REACHED', `A message carries at most ${MAX_DISTINCT_REACTIONS} different reactions`, { max: MAX_DISTINCT_REACTIONS });
    const c = outcome.change;
    if (c.changed)
      await this.broadcaster.toConversation(c.conversationId, 'reactionUpdated', {
        conversation_id: c.conversationId,
        message_id: c.messageId,
        user_id: actor.id,
        emoji,
        added: adding,
        reactions: c.reactions.map(({ emoji: e, count }) => ({ emoji: e, count })),
        updated_at: c.at.toISOString(),
      });
    return ok(c);
  }
}
