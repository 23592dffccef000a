import { Emitter } from './emitter.js';
import type { Message, Participant, PushEvents } from './types.js';

export type UserPresence = PushEvents['presence'];

export interface PresenceEvents {
  /** A user's presence became known or changed. */
  presenceChanged: UserPresence;
  /** The set of users typing in a conversation changed; `user_ids` in the order they started. */
  typingChanged: { readonly conversation_id: number; readonly user_ids: readonly number[] };
}

export interface PresenceStateOptions {
  /** A typing indicator without renewal ends after this long, in ms (docs/PROTOCOL.md, "Typing"). @default 6000 */
  readonly typingTimeoutMs?: number;
}

/**
 * Who is online among the users the client has heard of, and who is typing in
 * each conversation, for an app to draw. The client feeds it participant lists
 * (`participants()`, `joinConversation` answers), `presence` and `typing`
 * pushes and arriving messages; it emits a change event whenever what an app
 * would show changes. A typing indicator ends on `is_typing: false`, on a
 * message from that user in that conversation, or after the timeout.
 */
export class PresenceState {
  private readonly users = new Map<number, UserPresence>();
  /** conversation → user → the timer that ends their typing. */
  private readonly typists = new Map<number, Map<number, ReturnType<typeof setTimeout>>>();
  private readonly events = new Emitter<PresenceEvents>();
  private readonly typingTimeoutMs: number;

  constructor(options: PresenceStateOptions = {}) {
    this.typingTimeoutMs = options.typingTimeoutMs ?? 6_000;
  }

  on<E extends keyof PresenceEvents>(event: E, listener: (payload: PresenceEvents[E]) => void): () => void {
    return this.events.on(event, listener);
  }

  /** What is known of a user's presence, or undefined when nothing is. */
  of(userId: number): UserPresence | undefined {
    return this.users.get(userId);
  }

  isOnline(userId: number): boolean {
    return this.users.get(userId)?.online ?? false;
  }

  /** The users typing in a conversation now, in the order they started. */
  typing(conversationId: number): number[] {
    return [...(this.typists.get(conversationId)?.keys() ?? [])];
  }

  // ---- Fed by the client ----

  applyPresence(presence: UserPresence): void {
    const known = this.users.get(presence.user_id);
    if (known && known.online === presence.online && known.last_seen_at === presence.last_seen_at) return;
    this.users.set(presence.user_id, { user_id: presence.user_id, online: presence.online, last_seen_at: presence.last_seen_at });
    this.events.emit('presenceChanged', this.users.get(presence.user_id)!);
  }

  /** Participants as the server listed them; those without presence (a conversation list) teach nothing. */
  applyParticipants(participants: readonly Participant[]): void {
    for (const p of participants) {
      if (p.online !== undefined) this.applyPresence({ user_id: p.id, online: p.online, last_seen_at: p.last_seen_at ?? null });
    }
  }

  applyTyping(typing: PushEvents['typing']): void {
    if (!typing.is_typing) return this.stopTyping(typing.conversation_id, typing.user_id);
    let conversation = this.typists.get(typing.conversation_id);
    if (!conversation) this.typists.set(typing.conversation_id, (conversation = new Map()));
    const renewal = conversation.get(typing.user_id);
    if (renewal !== undefined) clearTimeout(renewal);
    const timer = setTimeout(() => this.stopTyping(typing.conversation_id, typing.user_id), this.typingTimeoutMs);
    conversation.set(typing.user_id, timer);
    if (renewal === undefined) this.emitTyping(typing.conversation_id);
  }

  /** A message ends its sender's typing in that conversation. */
  applyMessage(message: Message): void {
    this.stopTyping(message.conversation_id, message.sender_id);
  }

  /** Ends every typing indicator (the client closed). */
  clearTyping(): void {
    const conversations = [...this.typists.keys()];
    for (const conversation of this.typists.values()) for (const timer of conversation.values()) clearTimeout(timer);
    this.typists.clear();
    for (const id of conversations) this.emitTyping(id);
  }

  private stopTyping(conversationId: number, userId: number): void {
    const conversation = this.typists.get(conversationId);
    const timer = conversation?.get(userId);
    if (timer === undefined) return;
    clearTimeout(timer);
    conversation!.delete(userId);
    if (conversation!.size === 0) this.typists.delete(conversationId);
    this.emitTyping(conversationId);
  }

  private emitTyping(conversationId: number): void {
    this.events.emit('typingChanged', { conversation_id: conversationId, user_ids: this.typing(conversationId) });
  }
}
