import type { MessageDraft } from '../../../domain/message.js';
import type { AppendOptions, Broadcaster, MessageAppender, MessageStore, Stored } from '../../../application/ports/fanout.js';
import { serialisedMessage } from '../../../application/views.js';

/**
 * Appends, then announces, within one process: the store resolves in commit
 * order per conversation, and the local broadcaster delivers synchronously,
 * so every connection here sees a conversation's messages in id order.
 */
export class LocalMessageAppender implements MessageAppender {
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
