import type { Actor } from '../domain/user.js';
import type { Broadcaster } from './ports/fanout.js';
import type { Clock } from './ports/services.js';

export interface TypingOptions {
  /** At most one `is_typing: true` announcement per user and conversation this often. @default 2000 */
  readonly throttleMs?: number;
  /** Clients drop a typing state after this long without renewal; so does this tracker. @default 6000 */
  readonly expireMs?: number;
  /** Bound on the (user, conversation) pairs remembered. @default 100000 */
  readonly maxEntries?: number;
}

/**
 * Who is typing where, as announced from this process. Typing is never
 * stored: it costs one notification per announcement, throttled per user and
 * conversation; a message from the typist ends it.
 */
export class TypingIndicators {
  /** `${userId}:${conversationId}` → when `is_typing: true` was last announced; insertion order is age order. */
  private readonly announced = new Map<string, number>();
  private readonly throttleMs: number;
  private readonly expireMs: number;
  private readonly maxEntries: number;

  constructor(
    private readonly broadcaster: Broadcaster,
    private readonly clock: Clock,
    options: TypingOptions = {},
  ) {
    this.throttleMs = options.throttleMs ?? 2_000;
    this.expireMs = options.expireMs ?? 6_000;
    this.maxEntries = options.maxEntries ?? 100_000;
  }

  /** Announces to the conversation's other participants; resolves to false when throttled (nothing sent). */
  async set(actor: Actor, conversationId: number, isTyping: boolean): Promise<boolean> {
    const key = `${actor.id}:${conversationId}`;
    const now = this.clock.now().getTime();
    const last = this.announced.get(key);
    if (isTyping) {
      if (last !== undefined && now - last < this.throttleMs) return false;
      this.announced.delete(key);
      this.announced.set(key, now);
      this.evict(now);
    } else {
      // Ending a state nobody was told of (or that clients have dropped already) needs no announcement.
      if (last === undefined || now - last >= this.expireMs) return false;
      this.announced.delete(key);
    }
    await this.broadcaster.toConversation(
      conversationId,
      'typing',
      { conversation_id: conversationId, user_id: actor.id, is_typing: isTyping },
      { exceptUserId: actor.id },
    );
    return true;
  }

  /** A message from the typist ends their typing in that conversation. */
  async messageSent(actor: Actor, conversationId: number): Promise<void> {
    await this.set(actor, conversationId, false);
  }

  private evict(now: number): void {
    for (const [key, at] of this.announced) {
      if (this.announced.size <= this.maxEntries && now - at < this.expireMs) break;
      this.announced.delete(key);
    }
  }
}
