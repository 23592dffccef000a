import { directKey, type Conversation, type ParticipantSummary } from '../../domain/conversation.js';
import type { Message } from '../../domain/message.js';
import {
  LIST_PARTICIPANTS_MAX,
  UNREAD_COUNT_MAX,
  type ConversationListPage,
  type ConversationRepository,
  type ConversationSummary,
  type ListCursor,
  type NewGroup,
} from '../../application/ports/conversation-repository.js';
import type { InMemoryStore } from './in-memory-store.js';

export class InMemoryConversationRepository implements ConversationRepository {
  constructor(private readonly store: InMemoryStore) {}

  async createGroup(group: NewGroup, now: Date): Promise<Conversation> {
    return this.insert({ title: group.title, kind: 'group', isOpen: group.isOpen, createdBy: group.createdBy }, null, group.participantIds, now);
  }

  async findOrCreateDirect(a: number, b: number, now: Date): Promise<{ conversation: Conversation; created: boolean }> {
    const key = directKey(a, b);
    for (const row of this.store.conversations.values()) {
      if (!row.deletedAt && row.directKey === key) return { conversation: row.value, created: false };
    }
    const conversation = this.insert({ title: null, kind: 'direct', isOpen: false, createdBy: a }, key, [a, b], now);
    return { conversation, created: true };
  }

  async findById(id: number): Promise<Conversation | null> {
    const row = this.store.conversations.get(id);
    return row && !row.deletedAt ? row.value : null;
  }

  async isParticipant(conversationId: number, userId: number): Promise<boolean> {
    return this.store.activeParticipant(conversationId, userId) !== undefined;
  }

  async participants(conversationId: number): Promise<ParticipantSummary[]> {
    const summaries: ParticipantSummary[] = [];
    for (const row of this.store.participants.values()) {
      const user = row.conversationId === conversationId && !row.deletedAt ? this.store.liveUser(row.userId) : undefined;
      if (user)
        summaries.push({ id: user.id, username: user.username, displayName: user.displayName ?? null, role: user.role, pictureUrl: user.profilePicture });
    }
    return summaries.sort((x, y) => x.id - y.id);
  }

  async isBlocked(conversationId: number): Promise<boolean> {
    const conversation = await this.findById(conversationId);
    if (conversation?.kind !== 'direct') return false;
    const [a, b] = (await this.participants(conversationId)).map((p) => p.id);
    return a !== undefined && b !== undefined ? this.blockedBetween(a, b) : false;
  }

  async blockedAmong(conversationIds: readonly number[]): Promise<Set<number>> {
    const blocked = new Set<number>();
    for (const id of conversationIds) if (await this.isBlocked(id)) blocked.add(id);
    return blocked;
  }

  async blockedBetween(a: number, b: number): Promise<boolean> {
    return this.store.blocks.has(`${a}:${b}`) || this.store.blocks.has(`${b}:${a}`);
  }

  async addParticipant(conversationId: number, userId: number, now: Date, addedBy: number): Promise<boolean> {
    if (this.store.activeParticipant(conversationId, userId)) return false;
    this.store.participants.set(`${conversationId}:${userId}`, { conversationId, userId, lastReadMessageId: null, deletedAt: null });
    const user = this.store.users.get(userId)?.value;
    const summary = { id: userId, username: user?.username ?? '' };
    this.store.recordEvent(conversationId, 'participant.added', { conversation_id: conversationId, user: summary, added_by: addedBy }, now);
    return true;
  }

  async removeParticipant(conversationId: number, userId: number, now: Date, removedBy: number): Promise<boolean> {
    const row = this.store.activeParticipant(conversationId, userId);
    if (!row) return false;
    row.deletedAt = now;
    this.store.recordEvent(conversationId, 'participant.removed', { conversation_id: conversationId, user_id: userId, removed_by: removedBy }, now);
    return true;
  }

  async conversationIdsOf(userId: number): Promise<number[]> {
    return [...this.store.participants.values()]
      .filter((p) => p.userId === userId && !p.deletedAt && this.store.conversations.get(p.conversationId)?.deletedAt === null)
      .map((p) => p.conversationId)
      .sort((x, y) => x - y);
  }

  async conversationIdsOfUsers(userIds: readonly number[]): Promise<Map<number, number[]>> {
    const result = new Map<number, number[]>();
    for (const userId of userIds) {
      const ids = await this.conversationIdsOf(userId);
      if (ids.length > 0) result.set(userId, ids);
    }
    return result;
  }

  async listForUser(userId: number, query: { limit: number; after?: ListCursor; archived?: boolean }): Promise<ConversationListPage> {
    const summaries: ConversationSummary[] = [];
    for (const conversationId of await this.conversationIdsOf(userId)) {
      if (Boolean(this.store.activeParticipant(conversationId, userId)?.archivedAt) !== (query.archived ?? false)) continue;
      const conversation = (await this.findById(conversationId))!;
      const lastRead = this.store.activeParticipant(conversationId, userId)?.lastReadMessageId ?? 0;
      let lastMessage: Message | null = null;
      let unreadCount = 0;
      for (const { value: m, deletedAt } of this.store.messages.values()) {
        if (m.conversationId !== conversationId || deletedAt) continue;
        if (!lastMessage || m.id > lastMessage.id) lastMessage = m;
        if (m.id > lastRead && m.senderId !== userId) unreadCount += 1;
      }
      const participants = await this.participants(conversationId);
      summaries.push({
        conversation,
        participants: participants.slice(0, LIST_PARTICIPANTS_MAX),
        participantCount: participants.length,
        lastMessage,
        unreadCount: Math.min(unreadCount, UNREAD_COUNT_MAX),
        activityUs: (lastMessage ?? conversation).createdAt.getTime() * 1000,
      });
    }
    const key = (s: ConversationSummary) => [s.activityUs, s.conversation.id] as const;
    const before = (a: readonly [number, number], b: readonly [number, number]) => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
    const after = query.after;
    const ordered = summaries
      .sort((x, y) => key(y)[0] - key(x)[0] || key(y)[1] - key(x)[1])
      .filter((s) => !after || before(key(s), [after.activityUs, after.conversationId]));
    const page = ordered.slice(0, query.limit);
    const last = page.at(-1);
    return { conversations: page, next: ordered.length > query.limit && last ? { activityUs: last.activityUs, conversationId: last.conversation.id } : null };
  }

  async advanceReadMarker(conversationId: number, userId: number, messageId: number, now: Date): Promise<{ previous: number; current: number }> {
    const row = this.store.activeParticipant(conversationId, userId);
    if (!row) return { previous: 0, current: 0 };
    const previous = row.lastReadMessageId ?? 0;
    row.lastReadMessageId = Math.max(previous, messageId);
    if (row.lastReadMessageId > previous) {
      const data = { conversation_id: conversationId, user_id: userId, message_id: row.lastReadMessageId, read_at: now.toISOString() };
      this.store.recordEvent(conversationId, 'conversation.read', data, now);
    }
    return { previous, current: row.lastReadMessageId };
  }

  async countGroupsCreatedSince(userId: number, since: Date): Promise<number> {
    let n = 0;
    for (const { value: c } of this.store.conversations.values()) if (c.kind === 'group' && c.createdBy === userId && c.createdAt >= since) n += 1;
    return n;
  }

  private insert(
    fields: Pick<Conversation, 'title' | 'kind' | 'isOpen' | 'createdBy'>,
    key: string | null,
    participantIds: readonly number[],
    now: Date,
  ): Conversation {
    const conversation: Conversation = { ...fields, id: this.store.nextId('conversation'), createdAt: now, updatedAt: now };
    this.store.conversations.set(conversation.id, { value: conversation, deletedAt: null, directKey: key });
    for (const userId of new Set(participantIds)) {
      this.store.participants.set(`${conversation.id}:${userId}`, { conversationId: conversation.id, userId, lastReadMessageId: null, deletedAt: null });
    }
    return conversation;
  }
}
