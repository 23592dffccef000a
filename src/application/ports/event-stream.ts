import type { PushEvent } from './fanout.js';

/**
 * The kinds of the per-conversation event stream, named as the platform sees
 * them (webhook types). Each kind a client replays is replayed as the pushed
 * event it was delivered as live; `message.unread` (a recipient had no live
 * connection when the message committed) is for the platform only.
 */
export const REPLAYED_AS = {
  'message.created': 'receiveMessage',
  'message.updated': 'messageUpdated',
  'message.deleted': 'messageDeleted',
  'conversation.read': 'readReceipt',
  'participant.added': 'participantAdded',
  'participant.removed': 'participantRemoved',
  'reaction.updated': 'reactionUpdated',
  'conversation.updated': 'conversationUpdated',
} as const satisfies Record<string, PushEvent>;

export type ReplayedType = keyof typeof REPLAYED_AS;
export type StreamEventType = ReplayedType | 'message.unread';
export const STREAM_EVENT_TYPES: readonly StreamEventType[] = [...(Object.keys(REPLAYED_AS) as ReplayedType[]), 'message.unread'];
export const isStreamEventType = (t: unknown): t is StreamEventType => typeof t === 'string' && (STREAM_EVENT_TYPES as readonly string[]).includes(t);

export interface StreamEvent {
  /** Its place in the conversation's stream: ids of messages and events share one sequence. */
  readonly id: number;
  readonly conversationId: number;
  readonly type: StreamEventType;
  /**
   * In wire form: for the replayed kinds, the pushed event's payload (a
   * message's view as it was at that point for created and updated); for
   * `message.unread`, `{ message, user_ids }`.
   */
  readonly data: Record<string, unknown>;
  readonly createdAt: Date;
}

export interface StreamPage {
  readonly events: StreamEvent[];
  /** Where the next page starts (pass it back as `after`); unchanged when nothing came. */
  readonly next: number;
  readonly hasMore: boolean;
}

/** The durable event streams, read in id order. */
export interface EventStream {
  /** One conversation's replayed kinds after `after`. */
  conversation(conversationId: number, after: number, limit: number): Promise<StreamPage>;
  /** The replayed kinds of every conversation the user is in, after `after` and up to what is surely committed. */
  ofUser(userId: number, after: number, limit: number): Promise<StreamPage>;
  /** Every conversation's events of these types, after `after` and up to what is surely committed (for the platform's feeds). */
  all(after: number, limit: number, types: readonly StreamEventType[]): Promise<StreamPage>;
  /** The highest id below which everything is committed (a feed starting now starts here). */
  horizon(): Promise<number>;
}
