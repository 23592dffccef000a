import { fail, ok, type Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import type { ConversationRepository, ConversationSummary, ListCursor } from '../ports/conversation-repository.js';
import { MAX_INT_ID, type ListQueryInput } from '../schemas.js';

export interface ConversationList {
  readonly conversations: ConversationSummary[];
  /** Opaque: pass it back as `cursor` for the next page; null at the end. */
  readonly nextCursor: string | null;
}

const encode = (c: ListCursor): string => Buffer.from(`${c.activityUs}.${c.conversationId}`).toString('base64url');

/** Null unless each part fits its column (a bigint of microseconds, an integer id): a forged one is refused, not sent on. */
function decode(cursor: string): ListCursor | null {
  const match = /^(\d{1,17})\.(\d{1,10})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) return null;
  const [activityUs, conversationId] = [Number(match[1]), Number(match[2])];
  return Number.isSafeInteger(activityUs) && conversationId <= MAX_INT_ID ? { activityUs, conversationId } : null;
}

/** The caller's conversations, most recent activity first, a page at a time. */
export class ListConversations {
  constructor(private readonly conversations: ConversationRepository) {}

  async execute(actor: Actor, query: ListQueryInput): Promise<Result<ConversationList>> {
    const after = query.cursor === undefined ? undefined : decode(query.cursor);
    if (after === null) return fail('VALIDATION_FAILED', 'cursor: not a cursor this server gave out');
    const page = await this.conversations.listForUser(actor.id, { limit: query.limit, archived: query.archived === 'true', ...(after ? { after } : {}) });
    return ok({ conversations: page.conversations, nextCursor: page.next ? encode(page.next) : null });
  }
}
