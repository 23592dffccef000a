import type { z } from 'zod';
import type { Message, MessageDraft } from '../../domain/message.js';
import type { AccessChange } from '../../domain/session.js';
import { pushEventSchemas } from '../wire-schemas.js';

/**
 * Every event pushed to connections, with its payload in wire (snake_case)
 * form, derived from the one list in wire-schemas.ts: a new event is added
 * there and in the use case that sends it.
 */
export type PushEvents = { [E in keyof typeof pushEventSchemas]: z.infer<(typeof pushEventSchemas)[E]> };

export type PushEvent = keyof PushEvents;

export const PUSH_EVENTS: ReadonlySet<string> = new Set(Object.keys(pushEventSchemas));
export const isPushEvent = (name: unknown): name is PushEvent => typeof name === 'string' && PUSH_EVENTS.has(name);

export interface MembershipChange {
  readonly conversationId: number;
  readonly userId: number;
  readonly added: boolean;
}

export interface Audience {
  /** Leave out this user's connections (the typist, the user whose presence changed). */
  readonly exceptUserId?: number;
}

/**
 * Fan-out of events to the connections that follow a conversation, on every
 * process. Each call resolves once the event is on its way in order (so the
 * next one cannot overtake it) and never rejects: delivery failures are the
 * adapter's to log.
 */
export interface Broadcaster {
  toConversation<E extends PushEvent>(conversationId: number, event: E, data: PushEvents[E], audience?: Audience): Promise<void>;
  /** To everyone following any of these conversations, once per connection (presence goes to a user's contacts this way). */
  toConversations<E extends PushEvent>(conversationIds: readonly number[], event: E, data: PushEvents[E], audience?: Audience): Promise<void>;
  /** Several events, each to everyone following any of its conversations, in order and in one step (presence of many users at once). */
  toConversationsEach<E extends PushEvent>(events: ReadonlyArray<ConversationsEvent<E>>): Promise<void>;
  /** To every open connection of one user, whatever they follow. */
  toUser<E extends PushEvent>(userId: number, event: E, data: PushEvents[E]): Promise<void>;
  /** Starts or stops users' open connections receiving a conversation (several at once for a new group). */
  membershipChanged(changes: readonly MembershipChange[]): Promise<void>;
  /**
   * A user's access (or one session's) ended or changed: on every process,
   * caches forget it and, when it ended, its open connections are closed.
   */
  accessChanged(change: AccessChangeNotice): Promise<void>;
  /** Something cached about these conversations changed (a block between a direct conversation's people): every process's caches forget them. */
  conversationsChanged(conversationIds: readonly number[]): Promise<void>;
}

export interface ConversationsEvent<E extends PushEvent> {
  readonly conversationIds: readonly number[];
  readonly event: E;
  readonly data: PushEvents[E];
  readonly audience?: Audience;
}

export interface AccessChangeNotice {
  readonly userId: number;
  /** One session; null for all of the user's. */
  readonly sessionId: string | null;
  readonly change: AccessChange;
}

/**
 * A stored message; or, for a repeat of an earlier (sender, conversation,
 * client id), the original (`created: false`), or `message: null` when the
 * original has been deleted since.
 */
export type Stored = { readonly message: Message; readonly created: boolean } | { readonly message: null; readonly created: false };

export interface AppendOptions {
  /**
   * The duplicate guard, for a draft without a client id: when the same sender
   * sent a message of the same type, content and attachment to the same
   * conversation at most this many milliseconds before the draft (by
   * `createdAt`), and it is not deleted, the append resolves to that message
   * (`created: false`) and announces nothing, whichever process stored it.
   * Absent or 0: off. @default 0
   */
  readonly duplicateWindowMs?: number;
}

/**
 * Appends a message and announces it as `receiveMessage` to its conversation
 * on every process, as one step: once resolved, the message is committed and
 * its announcement is on its way, in commit order; nothing else announces it.
 * A repeat of an earlier (sender, conversation, client id) resolves to the
 * original (or to null when it was deleted since) and announces nothing.
 */
export interface MessageAppender {
  append(draft: MessageDraft, options?: AppendOptions): Promise<Stored>;
  /** Resolves once everything appended so far is committed (for shutdown). */
  drain(): Promise<void>;
}

/** Appends durably without announcing (composed with a broadcaster where the two cannot be one step). */
export interface MessageStore {
  append(draft: MessageDraft, options?: AppendOptions): Promise<Stored>;
  drain(): Promise<void>;
}

/**
 * This process's side of fan-out: the connections held here. Every
 * broadcaster, local or across processes, ends in these calls. `dataJson` is
 * the payload serialised once for every recipient.
 */
export interface LocalDelivery {
  publish(conversationIds: readonly number[], event: PushEvent, dataJson: string, exceptUserId?: number): void;
  sendToUser(userId: number, event: PushEvent, dataJson: string): void;
  membership(change: MembershipChange): void;
  /** Users with an open connection here. */
  connectedUserIds(): number[];
  /** Conversations at least one connection here follows. */
  followedConversationIds(): number[];
  /** Makes the user's connections follow exactly these conversations (after changes may have been missed). */
  reconcile(userId: number, conversationIds: readonly number[]): void;
  /** Closes the connections of the user (or of one session) whose access ended. */
  endAccess(userId: number, sessionId: string | null): void;
}

/**
 * Told when this process starts or stops following a conversation (its first
 * follower here arrives, its last one leaves) or a user (first and last
 * connection): brokers that route by interest subscribe by it.
 */
export interface InterestListener {
  /**
   * Before a connection starts following these conversations: resolves once
   * everything committed in them from now on is sure to reach it.
   */
  prepare(conversationIds: readonly number[]): Promise<void>;
  conversationFollowed(conversationId: number): void;
  conversationUnfollowed(conversationId: number): void;
  userArrived(userId: number): void;
  userLeft(userId: number): void;
}

/** Told of what invalidates cached state, from this process or another (caches implement it). */
export interface FanoutObserver {
  membershipChanged?(change: MembershipChange): void;
  accessChanged?(change: AccessChangeNotice): void;
  conversationChanged?(conversationId: number): void;
  /** Changes may have been missed (after an outage of the fan-out): forget everything. */
  resynced?(): void;
}
