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
 * process. Fire-and-forget: delivery failures are the adapter's to log.
 */
export interface Broadcaster {
  toConversation(conversationId: number, event: PushEvent, data: object): void;
  /** To every open connection of one user, whatever they follow. */
  toUser(userId: number, event: PushEvent, data: object): void;
  /** Starts or stops the user's open connections receiving the conversation. */
  membershipChanged(change: MembershipChange): void;
}
