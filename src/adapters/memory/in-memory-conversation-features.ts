import type {
  ConversationChange,
  ConversationManagement,
  ManagedGroup,
  MessageHistory,
  MessageSearch,
  MessageVersion,
  ParticipantReadState,
  ReactionStore,
  ReactOutcome,
  ReadStates,
  SearchPage,
  SearchQuery,
} from '../../application/ports/conversation-features.js';
import type { ReactionCount } from '../../domain/reaction.js';
import type { InMemoryStore } from './in-memory-store.js';

const words = (s: string): string[] => s.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/**
 * Search, reactions, read state, edit history and group management over the in-memory tables,
 * for use-case tests. Search is simpler than PostgreSQL's: every word of the
 * query must appear; rank is the share of the message's words that match.
 */
export class InMemoryConversationFeatures implements MessageSearch, ReactionStore, ReadStates, MessageHistory, ConversationManagement {
  constructor(private readonly store: InMemoryStore) {}

  async search(q: SearchQuery): Promise<SearchPage> {
    const wanted = words(q.text);
    const mine = (conversationId: number) =>
      (q.conversationId === undefined || q.conversationId === conversationId) && this.store.activeParticipant(conversationId, q.userId) !== undefined;
    const hits = [...this.store.messages.values()]
      .filter((r) => !r.deletedAt && mine(r.value.conversationId))
      .map((r) => {
        const have = words(r.value.content);
        const rank = wanted.length > 0 && wanted.every((w) => have.includes(w)) ? wanted.length / have.length : 0;
        return { message: r.value, rank, snippet: escapeHtml(r.value.content) };
      })
      .filter((h) => h.rank > 0)
      .sort((a, b) => b.rank - a.rank || b.message.id - a.message.id)
      .filter((h) => !q.after || h.rank < q.after.rank || (h.rank === q.after.rank && h.message.id < q.after.id));
    const page = hits.slice(0, q.limit);
    const last = page.at(-1);
    return { hits: page, next: hits.length > q.limit && last ? { rank: last.rank, id: last.message.id } : null };
  }

  async react(messageId: number, userId: number, emoji: string, adding: boolean, maxDistinct: number, at: Date): Promise<ReactOutcome> {
    const row = this.store.messages.get(messageId);
    if (!row || row.deletedAt) return { kind: 'missing' };
    const on = this.store.reactions.filter((r) => r.messageId === messageId);
    const index = on.findIndex((r) => r.userId === userId && r.emoji === emoji);
    let changed = false;
    if (adding && index < 0) {
      if (!on.some((r) => r.emoji === emoji) && new Set(on.map((r) => r.emoji)).size >= maxDistinct) return { kind: 'limit' };
      this.store.reactions.push({ messageId, userId, emoji, createdAt: at });
      changed = true;
    } else if (!adding && index >= 0) {
      this.store.reactions.splice(this.store.reactions.indexOf(on[index]!), 1);
      changed = true;
    }
    const reactions = this.counts(messageId, userId).map(({ emoji: e, count }) => ({ emoji: e, count }));
    const conversationId = row.value.conversationId;
    if (changed) {
      const data = { conversation_id: conversationId, message_id: messageId, user_id: userId, emoji, added: adding, reactions, updated_at: at.toISOString() };
      this.store.recordEvent(conversationId, 'reaction.updated', data, at);
    }
    return { kind: 'done', change: { conversationId, messageId, reactions, changed, at } };
  }

  async of(messageIds: readonly number[], userId: number): Promise<Map<number, Array<ReactionCount & { me: boolean }>>> {
    return new Map(messageIds.map((id) => [id, this.counts(id, userId)] as const).filter(([, c]) => c.length > 0));
  }

  async ofConversation(conversationId: number): Promise<ParticipantReadState[]> {
    return [...this.store.participants.values()]
      .filter((p) => p.conversationId === conversationId && !p.deletedAt)
      .sort((a, b) => a.userId - b.userId)
      .map((p) => ({ userId: p.userId, username: this.store.users.get(p.userId)?.value.username ?? '', lastReadMessageId: p.lastReadMessageId }));
  }

  async versions(messageId: number): Promise<MessageVersion[]> {
    return this.store.versions.filter((v) => v.messageId === messageId).map(({ content, createdAt, replacedAt }) => ({ content, createdAt, replacedAt }));
  }

  async findGroup(conversationId: number): Promise<ManagedGroup | null> {
    const row = this.store.conversations.get(conversationId);
    return row ? { id: conversationId, kind: row.value.kind, createdBy: row.value.createdBy, deleted: row.deletedAt !== null } : null;
  }

  async rename(conversationId: number, title: string, by: number, at: Date): Promise<ConversationChange | null> {
    const row = this.store.conversations.get(conversationId);
    if (!row || row.deletedAt || row.value.kind !== 'group') return null;
    row.value = { ...row.value, title, updatedAt: at };
    return this.changed(conversationId, by, at);
  }

  async setDeleted(conversationId: number, deleted: boolean, by: number, at: Date): Promise<ConversationChange | null> {
    const row = this.store.conversations.get(conversationId);
    if (!row || row.value.kind !== 'group' || (row.deletedAt !== null) === deleted) return null;
    row.deletedAt = deleted ? at : null;
    row.value = { ...row.value, updatedAt: at };
    return this.changed(conversationId, by, at);
  }

  async setArchived(conversationId: number, userId: number, archived: boolean, at: Date): Promise<boolean> {
    const p = this.store.activeParticipant(conversationId, userId);
    if (!p) return false;
    p.archivedAt = archived ? (p.archivedAt ?? at) : null;
    return true;
  }

  private changed(conversationId: number, by: number, at: Date): ConversationChange {
    const row = this.store.conversations.get(conversationId)!;
    const deleted = row.deletedAt !== null;
    const data = { conversation_id: conversationId, title: row.value.title, deleted, updated_by: by, updated_at: at.toISOString() };
    this.store.recordEvent(conversationId, 'conversation.updated', data, at);
    const participantIds = [...this.store.participants.values()].filter((p) => p.conversationId === conversationId && !p.deletedAt).map((p) => p.userId);
    return { conversationId, title: row.value.title, deleted, participantIds, at };
  }

  private counts(messageId: number, userId: number): Array<ReactionCount & { me: boolean }> {
    const byEmoji = new Map<string, { emoji: string; count: number; me: boolean }>();
    for (const r of this.store.reactions.filter((x) => x.messageId === messageId)) {
      const c = byEmoji.get(r.emoji) ?? { emoji: r.emoji, count: 0, me: false };
      c.count += 1;
      c.me ||= r.userId === userId;
      byEmoji.set(r.emoji, c);
    }
    return [...byEmoji.values()];
  }
}
