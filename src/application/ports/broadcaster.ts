/** The events pushed to connections, with their payloads in wire (snake_case) form. */
export type PushEvent =
  | 'receiveMessage'
  | 'messageUpdated'
  | 'messageDeleted'
  | 'readReceipt'
  | 'participantAdded'
  | 'participantRemoved';

export interface MembershipChange {
  readonly conversationId: number;
  readonly userId: number;
  readonly added: boolean;
}

/**
 * Fan-out of events to every connection following a conversation, on every
 * process. Each call resolves once the event is on its way (so the next one
 * cannot overtake it) and never rejects: delivery failures are the adapter's
 * to log.
 */
export interface Broadcaster {
  toConversation(conversationId: number, event: PushEvent, data: object): Promise<void>;
  /** To every open connection of one user, whatever they follow. */
  toUser(userId: number, event: PushEvent, data: object): Promise<void>;
  /** Starts or stops the user's open connections receiving the conversation. */
  membershipChanged(change: MembershipChange): Promise<void>;
}
