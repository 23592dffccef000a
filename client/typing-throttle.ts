/**
 * What the user's own typing sends: at most one `typing` true per conversation
 * every `intervalMs` (receivers keep it 6 s, so a renewal every 3 s never lets
 * it lapse while the user types), and one false when they stop after having
 * announced it (sent the message, cleared the input).
 */
export class TypingThrottle {
  /** conversation → when its last `true` went out. */
  private readonly announced = new Map<number, number>();

  constructor(
    private readonly send: (conversationId: number, isTyping: boolean) => void,
    private readonly intervalMs = 3_000,
    private readonly now: () => number = Date.now,
  ) {}

  typing(conversationId: number, isTyping: boolean): void {
    const last = this.announced.get(conversationId);
    if (!isTyping) {
      if (last === undefined) return; // nobody was told
      this.announced.delete(conversationId);
      return this.send(conversationId, false);
    }
    const now = this.now();
    if (last !== undefined && now - last < this.intervalMs) return;
    this.announced.set(conversationId, now);
    this.send(conversationId, true);
  }

  /** The connection dropped: what was announced is forgotten, so the next keystroke announces again. */
  reset(): void {
    this.announced.clear();
  }
}
