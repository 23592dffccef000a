import { fail, ok, type Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import { conversationOfParticipant } from '../access.js';
import type { ConversationRepository } from '../ports/conversation-repository.js';
import type { MessageSearch, SearchCursor, SearchPage } from '../ports/conversation-features.js';
import { SEARCH_QUERY_MIN, type SearchQueryInput } from '../schemas.js';

const encodeCursor = (c: SearchCursor) => Buffer.from(`${c.rank}:${c.id}`).toString('base64url');

function decodeCursor(s: string): SearchCursor | null {
  const m = /^(\d+(?:\.\d+)?(?:e-?\d+)?):(\d{1,16})$/.exec(Buffer.from(s, 'base64url').toString());
  if (!m) return null;
  const rank = Number(m[1]);
  const id = Number(m[2]);
  return Number.isFinite(rank) && Number.isSafeInteger(id) ? { rank, id } : null;
}

export interface SearchResult {
  readonly page: SearchPage;
  readonly nextCursor: string | null;
}

/** Searches the live messages of the caller's conversations (or one of them). */
export class SearchMessages {
  constructor(
    private readonly conversations: ConversationRepository,
    private readonly search: MessageSearch,
  ) {}

  async execute(actor: Actor, input: SearchQueryInput): Promise<Result<SearchResult>> {
    const text = input.q.trim();
    if ([...text.replace(/\s+/gu, '')].length < SEARCH_QUERY_MIN)
      return fail('QUERY_TOO_SHORT', `A search needs at least ${SEARCH_QUERY_MIN} characters`, { min: SEARCH_QUERY_MIN });
    if (input.conversation_id !== undefined) {
      const found = await conversationOfParticipant(this.conversations, input.conversation_id, actor);
      if (!found.ok) return found;
    }
    const after = input.cursor === undefined ? undefined : decodeCursor(input.cursor);
    if (after === null)
      return fail('VALIDATION_FAILED', 'cursor: must be a cursor this server gave out', [{ path: 'cursor', message: 'must be a cursor this server gave out' }]);
    const page = await this.search.search({ userId: actor.id, text, conversationId: input.conversation_id, limit: input.limit, after });
    return ok({ page, nextCursor: page.next ? encodeCursor(page.next) : null });
  }
}
