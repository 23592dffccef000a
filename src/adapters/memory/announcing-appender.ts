import type { MessageDraft } from '../../domain/message.js';
import type { AppendOptions, Broadcaster, MessageAppender, MessageStore, Stored } from '../../application/ports/fanout.js';
import { serialisedMessage } from '../../application/views.js';

/**
 * Stores, then announces (for the in-memory store, which has no write path
 * to report its commits): one process, appends resolving in order, so every
 * connection sees a conversation's messages in id order.
 */
export class AnnouncingAppender implements MessageAppender {
  constructor(
    private readonly store: MessageStore,
    private readonly broadcaster: Broadcaster,
  ) {}

  async append(draft: MessageDraft, options?: AppendOptions): Promise<Stored> {
    const stored = await this.store.append(draft, options);
    if (stored.created) await this.broadcaster.toConversation(draft.conversationId, 'receiveMessage', serialisedMessage(stored.message).value);
    return stored;
  }

  drain(): Promise<void> {
    return this.store.drain();
  }
}
