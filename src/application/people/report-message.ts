import { fail, ok, type Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import { messageNotFound } from '../access.js';
import type { ConversationRepository } from '../ports/conversation-repository.js';
import type { MessageRepository } from '../ports/message-repository.js';
import type { ModerationRepository, Report } from '../ports/people.js';
import type { Clock } from '../ports/services.js';

/** A participant reports someone else's message to staff, once per message. */
export class ReportMessage {
  constructor(
    private readonly messages: MessageRepository,
    private readonly conversations: ConversationRepository,
    private readonly moderation: ModerationRepository,
    private readonly clock: Clock,
  ) {}

  async execute(actor: Actor, messageId: number, reason: string): Promise<Result<Report>> {
    const message = await this.messages.findById(messageId);
    if (!message || !(await this.conversations.isParticipant(message.conversationId, actor.id))) return messageNotFound(messageId);
    if (message.senderId === actor.id) return fail('VALIDATION_FAILED', 'You cannot report your own message');
    const report = await this.moderation.report({ message, reporterId: actor.id, reason }, this.clock.now());
    return report ? ok(report) : fail('ALREADY_REPORTED', 'You have reported this message already');
  }
}
