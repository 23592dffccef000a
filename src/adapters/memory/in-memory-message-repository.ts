import type { Message, MessageDraft } from '../../domain/message.js';
import type { AppendOptions, MessageStore, Stored } from '../../application/ports/fanout.js';
import type { CatchUpGroup, MessagePage, MessageRepository, PageQuery } from '../../application/ports/message-repository.js';
import type { InMemoryStore } from './in-memory-store.js';

export class InMemoryMessageRepository implements MessageRepository, MessageStore {
  constructor(private readonly store: InMemoryStore) {}

  async append(draft: MessageDraft, options: AppendOptions = {}): Promise<Stored> {
    if (draft.clientId !== null) {
      for (const { value, deletedAt } of this.store.messages.values()) {
        if (value.senderId !== draft.senderId || value.conversationId !== draft.conversationId || value.clientId !== draft.clientId) continue;
        return deletedAt ? { message: null, created: false } : { message: this.withSender(value), created: false };
      }
    } else if ((options.duplicateWindowMs ?? 0) > 0) {
      const since = draft.createdAt.getTime() - options.duplicateWindowMs!;
      const attachment = JSON.stringify(draft.attachment);
      const original = [...this.store.messages.values()]
        .filter(({ value: m, deletedAt }) => !deletedAt && m.conversationId === draft.conversationId && m.senderId === draft.senderId && m.clientId === null)
        .filter(
          ({ value: m }) =>
            m.type === draft.type && m.content === draft.content && JSON.stringify(m.attachment) === attachment && m.createdAt.getTime() >= since,
        )
        .at(-1);
      if (original) return { message: this.withSender(original.value), created: false };
    }
    const message: Message = { ...draft, id: this.store.nextId('message'), readAt: null, editedAt: null, updatedAt: draft.createdAt };
    this.store.messages.set(message.id, { value: message, deletedAt: null });
    return { message, created: true };
  }

  async findById(id: number): Promise<Message | null> {
    const row = this.store.messages.get(id);
    return row && !row.deletedAt ? this.withSender(row.value) : null;
  }

  /** Appends complete at once. */
  async drain(): Promise<void> {}

  async findByIds(ids: readonly number[]): Promise<Message[]> {
    const found: Message[] = [];
    for (const id of [...ids].sort((x, y) => x - y)) {
      const m = await this.findById(id);
      if (m) found.push(m);
    }
    return found;
  }

  async latestIds(conversationIds: readonly number[]): Promise<Map<number, number>> {
    const wanted = new Set(conversationIds);
    const latest = new Map<number, number>();
    for (const { value: m } of this.store.messages.values()) {
      if (wanted.has(m.conversationId) && m.id > (latest.get(m.conversationId) ?? 0)) latest.set(m.conversationId, m.id);
    }
    return latest;
  }

  async newerThan(groups: readonly CatchUpGroup[], limit: number): Promise<Message[]> {
    const after = new Map(groups.flatMap((g) => g.conversationIds.map((id) => [id, g.afterId] as const)));
    return [...this.store.messages.values()]
      .filter(({ value: m, deletedAt }) => !deletedAt && after.has(m.conversationId) && m.id > after.get(m.conversationId)!)
      .map(({ value }) => this.withSender(value))
      .sort((x, y) => x.id - y.id)
      .slice(0, limit);
  }

  /** Usernames are read from the users, as the SQL adapter joins them. */
  private withSender(m: Message): Message {
    const username = this.store.users.get(m.senderId)?.value.username;
    return username === undefined || username === m.senderUsername ? m : { ...m, senderUsername: username };
  }

  async page(conversationId: number, query: PageQuery): Promise<MessagePage> {
    const matching = [...this.store.messages.values()]
      .filter(
        ({ value: m, deletedAt }) =>
          !deletedAt &&
          m.conversationId === conversationId &&
          (query.before === undefined || m.id < query.before) &&
          (query.after === undefined || m.id > query.after),
      )
      .map(({ value }) => this.withSender(value))
      .sort((x, y) => x.id - y.id);
    const hasMore = matching.length > query.limit;
    const messages = query.after === undefined ? matching.slice(-query.limit) : matching.slice(0, query.limit);
    return { messages, hasMore };
  }

  async edit(id: number, content: string, at: Date): Promise<Message | null> {
    const row = this.store.messages.get(id);
    if (!row || row.deletedAt) return null;
    this.store.versions.push({ messageId: id, content: row.value.content, createdAt: row.value.editedAt ?? row.value.createdAt, replacedAt: at });
    row.value = { ...row.value, content, editedAt: at, updatedAt: at };
    this.store.recordEvent(row.value.conversationId, 'message.updated', { message_id: id, content, edited_at: at.toISOString() }, at);
    return row.value;
  }

  async softDelete(id: number, at: Date): Promise<boolean> {
    const row = this.store.messages.get(id);
    if (!row || row.deletedAt) return false;
    row.deletedAt = at;
    const data = { id, conversation_id: row.value.conversationId, deleted_at: at.toISOString() };
    this.store.recordEvent(row.value.conversationId, 'message.deleted', data, at);
    return true;
  }

  async markReadBetween(conversationId: number, readerId: number, afterId: number, uptoId: number, at: Date): Promise<number> {
    let count = 0;
    for (const row of this.store.messages.values()) {
      const m = row.value;
      if (!row.deletedAt && m.conversationId === conversationId && m.id > afterId && m.id <= uptoId && m.senderId !== readerId && !m.readAt) {
        row.value = { ...m, readAt: at, updatedAt: at };
        count += 1;
      }
    }
    return count;
  }
}
