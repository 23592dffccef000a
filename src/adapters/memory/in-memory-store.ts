import type { Conversation } from '../../domain/conversation.js';
import type { Message } from '../../domain/message.js';
import type { User } from '../../domain/user.js';
import type { StreamEventType } from '../../application/ports/event-stream.js';

interface Row<T> {
  value: T;
  deletedAt: Date | null;
}

export interface ParticipantRow {
  readonly conversationId: number;
  readonly userId: number;
  lastReadMessageId: number | null;
  deletedAt: Date | null;
  archivedAt?: Date | null;
}

/** A row of conversation_events: ids come from the messages' sequence, as in PostgreSQL. */
export interface EventRow {
  readonly id: number;
  readonly conversationId: number;
  readonly type: StreamEventType;
  readonly data: Record<string, unknown>;
  readonly createdAt: Date;
}

/** The tables the in-memory repositories share, so joins behave as in SQL. */
export class InMemoryStore {
  readonly users = new Map<number, Row<User>>();
  readonly conversations = new Map<number, Row<Conversation> & { directKey: string | null }>();
  readonly participants = new Map<string, ParticipantRow>();
  readonly messages = new Map<number, Row<Message>>();
  readonly events: EventRow[] = [];
  /** message_versions and message_reactions. */
  readonly versions: Array<{ readonly messageId: number; readonly content: string; readonly createdAt: Date; readonly replacedAt: Date }> = [];
  readonly reactions: Array<{ readonly messageId: number; readonly userId: number; readonly emoji: string; readonly createdAt: Date }> = [];
  /** `${blocker}:${blocked}` */
  readonly blocks = new Set<string>();
  private sequences = { user: 0, conversation: 0, message: 0 };

  nextId(table: keyof InMemoryStore['sequences']): number {
    this.sequences[table] += 1;
    return this.sequences[table];
  }

  recordEvent(conversationId: number, type: StreamEventType, data: Record<string, unknown>, at: Date): void {
    this.events.push({ id: this.nextId('message'), conversationId, type, data, createdAt: at });
  }

  activeParticipant(conversationId: number, userId: number): ParticipantRow | undefined {
    const row = this.participants.get(`${conversationId}:${userId}`);
    return row && !row.deletedAt ? row : undefined;
  }

  liveUser(id: number): User | undefined {
    const row = this.users.get(id);
    return row && !row.deletedAt ? row.value : undefined;
  }
}
