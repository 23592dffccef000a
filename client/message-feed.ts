import { ChatError } from './chat-error.js';
import { Timeline } from './timeline.js';
import type { ErrorCode, Message, Requests } from './types.js';

export interface MessageFeedOptions {
  /** One `joinConversation` request over the open connection. */
  readonly join: (data: Requests['joinConversation']['data']) => Promise<Requests['joinConversation']['result']>;
  /** A message seen for the first time. */
  readonly fresh: (message: Message) => void;
  /** Every message that arrived, fresh or repeated (pending sends settle on either). */
  readonly arrived: (message: Message) => void;
  /** A followed conversation finished catching up. */
  readonly synced: (conversationId: number, delivered: number) => void;
  readonly isOpen: () => boolean;
  /** The wait before retrying a catch-up that failed while connected, in ms. */
  readonly retryDelay: () => number;
}

/** Failures after which a followed conversation cannot be caught up. */
const GONE: ReadonlySet<ErrorCode> = new Set(['NOT_A_PARTICIPANT', 'CONVERSATION_NOT_FOUND']);

/**
 * Where every message enters, whichever way it came (push, ack, catch-up
 * page): each id is delivered once, and the conversations being followed are
 * caught up with `joinConversation {since}` after every (re)connect.
 */
export class MessageFeed {
  private readonly timelines = new Map<number, Timeline>();
  private readonly followed = new Set<number>();
  /** Conversations catching up, with the messages delivered for the first time meanwhile (replayed pushes and pages). */
  private readonly running = new Map<number, number>();
  private readonly retries = new Set<ReturnType<typeof setTimeout>>();

  constructor(private readonly options: MessageFeedOptions) {}

  /** True the first time this message is seen. Only pushes move the cursor (see Timeline). */
  deliver(message: Message, source: 'push' | 'ack' | 'catch-up'): boolean {
    const timeline = this.timeline(message.conversation_id);
    const fresh = timeline.add(message.id);
    if (source === 'push') timeline.pushed(message.id);
    const catchingUp = this.running.get(message.conversation_id);
    if (fresh && catchingUp !== undefined) this.running.set(message.conversation_id, catchingUp + 1);
    if (fresh) this.options.fresh(message);
    this.options.arrived(message);
    return fresh;
  }

  /** Messages the caller got another way (a page of history): not delivered again. */
  seen(conversationId: number, messages: readonly Message[]): void {
    const timeline = this.timeline(conversationId);
    for (const m of messages) timeline.add(m.id);
  }

  follow(conversationId: number, since: number): void {
    this.followed.add(conversationId);
    this.timeline(conversationId).resetCursor(since);
    if (this.options.isOpen()) void this.catchUp(conversationId);
  }

  unfollow(conversationId: number): void {
    this.followed.delete(conversationId);
    this.timelines.get(conversationId)?.stopSyncing();
  }

  lastSeenId(conversationId: number): number {
    return this.timelines.get(conversationId)?.cursor ?? 0;
  }

  /** A connection opened: catch up every followed conversation. */
  catchUpAll(): void {
    for (const id of this.followed) void this.catchUp(id);
  }

  /** The client closed: no retry may fire later. */
  stop(): void {
    for (const timer of this.retries) clearTimeout(timer);
    this.retries.clear();
  }

  private async catchUp(conversationId: number): Promise<void> {
    if (this.running.has(conversationId)) return;
    this.running.set(conversationId, 0);
    try {
      await this.catchUpPages(conversationId);
    } finally {
      this.running.delete(conversationId);
    }
  }

  /** `joinConversation` with `since`, page after page, until the server has nothing newer. */
  private async catchUpPages(conversationId: number): Promise<void> {
    const timeline = this.timeline(conversationId);
    timeline.startSync();
    let since = timeline.cursor;
    try {
      for (;;) {
        // The server pushes the replay (messages and every other change) before answering: most arrive as pushes.
        const page = await this.options.join({ conversation_id: conversationId, since });
        for (const m of page.messages) this.deliver(m, 'catch-up');
        // The replay (pushed before the answer) may end past the last message: resume after it.
        const next = page.next_cursor !== undefined ? Number(page.next_cursor) : page.messages.at(-1)?.id;
        if (next !== undefined) since = Math.max(since, next);
        if (!page.has_more || next === undefined) break;
      }
    } catch (error) {
      timeline.abortSync(since);
      if (!(error instanceof ChatError) || error.code === 'DISCONNECTED' || error.code === 'CLOSED') return; // the next open tries again
      if (GONE.has(error.code)) return this.unfollow(conversationId);
      // A transient failure while connected: the gap stays open until a later try closes it.
      const timer = setTimeout(() => {
        this.retries.delete(timer);
        if (this.options.isOpen() && this.followed.has(conversationId)) void this.catchUp(conversationId);
      }, this.options.retryDelay());
      this.retries.add(timer);
      return;
    }
    timeline.finishSync(since);
    this.options.synced(conversationId, this.running.get(conversationId) ?? 0);
  }

  private timeline(conversationId: number): Timeline {
    let t = this.timelines.get(conversationId);
    if (!t) this.timelines.set(conversationId, (t = new Timeline()));
    return t;
  }
}
