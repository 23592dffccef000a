/** A browser's push subscription (the PushSubscription JSON), as stored. */
export interface PushSubscription {
  readonly endpoint: string;
  /** The browser's P-256 public key, base64url (65 bytes). */
  readonly p256dh: string;
  /** The browser's auth secret, base64url (16 bytes). */
  readonly auth: string;
  /** When the push service ends the subscription (ms since the epoch), if it said. */
  readonly expirationTime: number | null;
}

/** One participant of a conversation, as the offline notifier sees them. */
export interface Recipient {
  readonly userId: number;
  readonly muted: boolean;
  /** Whether the user has any push subscription. */
  readonly subscribed: boolean;
}

/** Who wants pushes, where: users' subscriptions and the conversations they muted. */
export interface PushStore {
  /**
   * Registers the subscription for the user (an endpoint registered before,
   * by anyone, moves to this user with the new keys); beyond `max` per user
   * the ones registered longest ago are dropped. It is bound to the session
   * that registered it (null for an external identity provider's token): once
   * that session ends, nothing is pushed to it.
   */
  subscribe(userId: number, sessionId: string | null, subscription: PushSubscription, max: number): Promise<void>;
  /** False when the endpoint is not one of the user's. */
  unsubscribe(userId: number, endpoint: string): Promise<boolean>;
  /** The push service says the endpoint is gone (404/410): it is removed, whoever has it. */
  forget(endpoint: string): Promise<void>;
  /** False when the user is not a participant. */
  setMuted(conversationId: number, userId: number, muted: boolean): Promise<boolean>;
  /** The participants of each conversation, with whether they muted it and have subscriptions (deactivated users left out). */
  recipients(conversationIds: readonly number[]): Promise<Map<number, Recipient[]>>;
  /** The user's subscriptions, provided they still take part in the conversation and have not muted it. */
  deliverable(userId: number, conversationId: number): Promise<PushSubscription[]>;
}

/** What became of one push; the metric's label set. */
export const PUSH_OUTCOMES = ['delivered', 'gone', 'rejected', 'failed', 'dropped', 'suppressed'] as const;
export type PushOutcome = (typeof PUSH_OUTCOMES)[number];

export interface PushResult {
  readonly outcome: Exclude<PushOutcome, 'dropped' | 'suppressed'>;
  /** For the log: the status or the network failure, never the endpoint. */
  readonly detail?: string;
}

export interface PushOptions {
  /** Replaces a pending push of the same topic at the push service (RFC 8030 §5.4); URL-safe base64, at most 32 characters. */
  readonly topic: string;
  readonly ttlSeconds: number;
  readonly urgency: 'very-low' | 'low' | 'normal' | 'high';
}

/** Sends one encrypted, VAPID-signed push (RFC 8030, 8291, 8292). Never throws for what the network or the push service does. */
export interface PushSender {
  /**
   * `delivered` (2xx), `gone` (404/410: the subscription is dead), `rejected`
   * (any other answer), `failed` (no answer: refused address, timeout, connection).
   */
  send(subscription: PushSubscription, payload: string, options: PushOptions): Promise<PushResult>;
}

/** One `message.unread` notice: the message's recipients without a live connection. */
export interface UnreadNotice {
  readonly conversationId: number;
  readonly messageId: number;
  readonly userIds: readonly number[];
}

/** A stream consumer's durable position, moved together with what it wrote for the events it passed. */
export interface NotifierLedger {
  /** Records the notices and moves the position to `position`, atomically. */
  commit(notices: readonly UnreadNotice[], position: number): Promise<void>;
}
