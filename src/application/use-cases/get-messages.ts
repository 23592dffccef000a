import { ok, type Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import type { ReactionCount } from '../../domain/reaction.js';
import { conversationOfParticipant } from '../access.js';
import type { ConversationRepository } from '../ports/conversation-repository.js';
import type { ReactionStore, ReadStates } from '../ports/conversation-features.js';
import type { MessagePage, MessageRepository } from '../ports/message-repository.js';
import type { PageQueryInput } from '../schemas.js';

/** A page of history with what others did to it: reactions (and the caller's), and in groups how many others have read each message. */
export interface MessagePageWithState extends MessagePage {
  readonly reactions: Map<number, ReadonlyArray<ReactionCount & { readonly me: boolean }>>;
  /** Groups only: per message, participants other than its sender whose read marker is at or past it. */
  readonly readBy: Map<number, number> | null;
}

export class GetMessages {
  constructor(
    private readonly conversations: ConversationRepository,
    private readonly messages: MessageRepository,
    private readonly reactions?: ReactionStore,
    private readonly readStates?: ReadStates,
  ) {}

  async execute(actor: Actor, conversationId: number, query: PageQueryInput): Promise<Result<MessagePageWithState>> {
    const found = await conversationOfParticipant(this.conversations, conversationId, actor);
    if (!found.ok) return found;
    const page = await this.messages.page(conversationId, query);
    const ids = page.messages.map((m) => m.id);
    const [reactions, states] = await Promise.all([
      this.reactions ? this.reactions.of(ids, actor.id) : new Map(),
      found.value.kind === 'group' && this.readStates ? this.readStates.ofConversation(conversationId) : null,
    ]);
    const readBy = states
      ? new Map(page.messages.map((m) => [m.id, states.filter((s) => s.userId !== m.senderId && (s.lastReadMessageId ?? 0) >= m.id).length] as const))
      : null;
    return ok({ ...page, reactions, readBy });
  }
}
