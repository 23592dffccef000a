import type { EventStream, StreamEvent, StreamEventType, StreamPage } from '../../application/ports/event-stream.js';
import { REPLAYED_AS } from '../../application/ports/event-stream.js';
import { messageView } from '../../application/views.js';
import type { InMemoryStore } from './in-memory-store.js';

const REPLAYED = Object.keys(REPLAYED_AS) as StreamEventType[];

/** The stream over the in-memory tables: messages' creation and the event rows, by id (everything is committed at once here). */
export class InMemoryEventStream implements EventStream {
  constructor(private readonly store: InMemoryStore) {}

  async conversation(conversationId: number, after: number, limit: number): Promise<StreamPage> {
    return this.read((c) => c === conversationId, after, limit, REPLAYED);
  }

  async ofUser(userId: number, after: number, limit: number): Promise<StreamPage> {
    return this.read((c) => this.store.activeParticipant(c, userId) !== undefined, after, limit, REPLAYED);
  }

  async all(after: number, limit: number, types: readonly StreamEventType[]): Promise<StreamPage> {
    return this.read(() => true, after, limit, types);
  }

  async horizon(): Promise<number> {
    return this.horizonNow();
  }

  private read(inScope: (conversationId: number) => boolean, after: number, limit: number, types: readonly StreamEventType[]): StreamPage {
    const all: StreamEvent[] = [];
    if (types.includes('message.created'))
      for (const { value: m, deletedAt } of this.store.messages.values())
        if (!deletedAt && m.id > after && inScope(m.conversationId))
          all.push({ id: m.id, conversationId: m.conversationId, type: 'message.created', data: messageView(m), createdAt: m.createdAt });
    for (const e of this.store.events) {
      if (e.id <= after || !types.includes(e.type) || !inScope(e.conversationId)) continue;
      const row = typeof e.data.message_id === 'number' ? this.store.messages.get(e.data.message_id) : undefined;
      const message = row && !row.deletedAt ? row.value : undefined;
      // As in PostgreSQL: a deleted message's edits and notices are not replayed.
      if ((e.type === 'message.updated' || e.type === 'message.unread') && !message) continue;
      const data =
        e.type === 'message.updated' && message
          ? messageView({
              ...message,
              content: String(e.data.content),
              editedAt: new Date(String(e.data.edited_at)),
              updatedAt: new Date(String(e.data.edited_at)),
            })
          : e.type === 'message.unread' && message
            ? { message: messageView(message), user_ids: e.data.user_ids }
            : e.data;
      all.push({ id: e.id, conversationId: e.conversationId, type: e.type, data, createdAt: e.createdAt });
    }
    all.sort((x, y) => x.id - y.id);
    const events = all.slice(0, limit);
    return { events, next: events.at(-1)?.id ?? Math.max(after, this.horizonNow()), hasMore: all.length > limit };
  }

  private horizonNow(): number {
    return Math.max(0, ...this.store.messages.keys(), ...this.store.events.map((e) => e.id));
  }
}
