import type { StreamEvent } from './ports/event-stream.js';
import type { PresenceStore } from './ports/presence-store.js';
import type { NotifierLedger, PushOptions, PushOutcome, PushSender, PushStore, PushSubscription, UnreadNotice } from './ports/push.js';
import type { Logger } from './ports/services.js';
import type { Telemetry } from './ports/telemetry.js';

export interface OfflineNotifierOptions {
  /** A (user, conversation)'s first unread message opens a window this long; one push covers it. @default 2000 */
  readonly coalesceMs?: number;
  /** Put the latest message's content (cut to 1000 characters) into the push. @default false */
  readonly includeContent?: boolean;
  /** Pushes (and the look-ups before them) in flight at once. @default 16 */
  readonly concurrency?: number;
  /** Pushes waiting for a slot; beyond, they are dropped and counted. @default 10000 */
  readonly maxQueued?: number;
  /** How long a push service keeps an undelivered push. @default 86400 */
  readonly ttlSeconds?: number;
}

export interface OfflineNotifierPorts {
  readonly store: PushStore;
  readonly presence: Pick<PresenceStore, 'statusOf'>;
  readonly sender: PushSender;
  readonly logger: Logger;
  readonly telemetry: Pick<Telemetry, 'pushed'>;
}

/** The push payload, JSON: what a service worker gets to show a notification. */
export interface PushPayload {
  readonly conversation_id: number;
  /** The latest message of the window. */
  readonly message_id: number;
  /** Messages the window covered. */
  readonly count: number;
  /** The latest message's sender's username. */
  readonly sender: string;
  readonly content?: string;
}

interface Window {
  readonly userId: number;
  readonly conversationId: number;
  count: number;
  messageId: number;
  sender: string;
  content: string;
  readonly timer: NodeJS.Timeout;
}

const CONTENT_MAX = 1000;

/**
 * Follows committed messages (a page of the stream's `message.created` events
 * at a time, in one process of the cluster) and tells the platform and the
 * recipients about those who were not connected: one `message.unread` notice
 * per message with such recipients (those who muted the conversation left
 * out), recorded with the consumer's position so each is recorded once; and,
 * for those of them with push subscriptions, one push per subscription per window of
 * `coalesceMs` per (user, conversation), sent only if they are still offline
 * when it closes. Pushes are in memory: a process that stops loses its open
 * windows (at most one push each).
 */
export class OfflineNotifier {
  private readonly windows = new Map<string, Window>();
  private readonly queue: Array<() => Promise<void>> = [];
  private readonly running = new Set<Promise<void>>();
  private closed = false;
  private readonly coalesceMs: number;
  private readonly includeContent: boolean;
  private readonly concurrency: number;
  private readonly maxQueued: number;
  private readonly pushOptions: Omit<PushOptions, 'topic'>;

  constructor(
    private readonly ports: OfflineNotifierPorts,
    options: OfflineNotifierOptions = {},
  ) {
    this.coalesceMs = options.coalesceMs ?? 2_000;
    this.includeContent = options.includeContent ?? false;
    this.concurrency = options.concurrency ?? 16;
    this.maxQueued = options.maxQueued ?? 10_000;
    // `normal` is what RFC 8030 §5.3 names for a chat message.
    this.pushOptions = { ttlSeconds: options.ttlSeconds ?? 86_400, urgency: 'normal' };
  }

  /**
   * One page of the stream (its `message.created` events) and the position
   * after it: the notices and the position recorded together in `ledger`,
   * then the pushes scheduled.
   */
  async handle(events: readonly StreamEvent[], next: number, ledger: NotifierLedger): Promise<void> {
    const messages = events.filter((e) => e.type === 'message.created').map(messageOf);
    if (messages.length === 0) return ledger.commit([], next);
    const recipients = await this.ports.store.recipients([...new Set(messages.map((m) => m.conversationId))]);
    const others = new Set<number>();
    for (const m of messages) for (const r of recipients.get(m.conversationId) ?? []) if (r.userId !== m.senderId) others.add(r.userId);
    // One presence look-up for the whole page.
    const status = await this.ports.presence.statusOf([...others]);
    const notices: UnreadNotice[] = [];
    const pushes: Array<{ userId: number; message: MessageFacts }> = [];
    for (const m of messages) {
      // A muted conversation tells its muter nothing offline: no notice for the platform, no push.
      const offline = (recipients.get(m.conversationId) ?? []).filter((r) => r.userId !== m.senderId && !r.muted && !status.get(r.userId)?.online);
      if (offline.length === 0) continue;
      notices.push({ conversationId: m.conversationId, messageId: m.id, userIds: offline.map((r) => r.userId) });
      for (const r of offline) if (r.subscribed) pushes.push({ userId: r.userId, message: m });
    }
    await ledger.commit(notices, next);
    for (const p of pushes) this.coalesce(p.userId, p.message);
  }

  /** Open windows are dropped; pushes already running finish. */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.windows.values()) clearTimeout(w.timer);
    this.windows.clear();
    this.queue.length = 0;
    await Promise.allSettled([...this.running]);
  }

  private coalesce(userId: number, m: MessageFacts): void {
    if (this.closed) return;
    const key = `${userId}:${m.conversationId}`;
    const open = this.windows.get(key);
    if (open) {
      open.count += 1;
      if (m.id > open.messageId) Object.assign(open, { messageId: m.id, sender: m.sender, content: m.content });
      return;
    }
    const timer = setTimeout(() => {
      this.windows.delete(key);
      this.schedule(() => this.flush(window));
    }, this.coalesceMs);
    timer.unref();
    const window: Window = { userId, conversationId: m.conversationId, count: 1, messageId: m.id, sender: m.sender, content: m.content, timer };
    this.windows.set(key, window);
  }

  private async flush(w: Window): Promise<void> {
    // Connected since the message came: the client has it already.
    const status = await this.ports.presence.statusOf([w.userId]);
    if (status.get(w.userId)?.online) return this.ports.telemetry.pushed('suppressed');
    const subscriptions = await this.ports.store.deliverable(w.userId, w.conversationId);
    if (subscriptions.length === 0) return;
    const payload: PushPayload = {
      conversation_id: w.conversationId,
      message_id: w.messageId,
      count: w.count,
      sender: w.sender,
      ...(this.includeContent ? { content: w.content.slice(0, CONTENT_MAX) } : {}),
    };
    const body = JSON.stringify(payload);
    // One topic per conversation: a push service replaces a pending older push of it with this one.
    const options: PushOptions = { ...this.pushOptions, topic: `c${w.conversationId}` };
    for (const s of subscriptions) this.schedule(() => this.send(s, body, options));
  }

  private async send(subscription: PushSubscription, body: string, options: PushOptions): Promise<void> {
    const { outcome, detail } = await this.ports.sender.send(subscription, body, options);
    this.ports.telemetry.pushed(outcome);
    if (outcome === 'gone') await this.ports.store.forget(subscription.endpoint);
    // Logged and counted, not retried: the next message's push is the retry.
    else if (outcome !== 'delivered') this.ports.logger.warn({ outcome, detail, origin: originOf(subscription.endpoint) }, 'push not delivered');
  }

  /** Bounded concurrency; a full queue drops the work (counted), it never grows without end. */
  private schedule(task: () => Promise<void>): void {
    if (this.closed) return;
    if (this.queue.length >= this.maxQueued) return this.ports.telemetry.pushed('dropped' satisfies PushOutcome);
    this.queue.push(task);
    this.drain();
  }

  private drain(): void {
    while (this.running.size < this.concurrency && this.queue.length > 0) {
      const task = this.queue.shift()!;
      const run: Promise<void> = task()
        .catch((error: unknown) => this.ports.logger.warn({ err: error }, 'push failed'))
        .finally(() => {
          this.running.delete(run);
          this.drain();
        });
      this.running.add(run);
    }
  }
}

interface MessageFacts {
  readonly id: number;
  readonly conversationId: number;
  readonly senderId: number;
  readonly sender: string;
  readonly content: string;
}

/** The facts a push needs, from a `message.created` event's message view. */
function messageOf(e: StreamEvent): MessageFacts {
  const d = e.data as { sender_id?: unknown; sender?: { username?: unknown }; content?: unknown };
  return {
    id: e.id,
    conversationId: e.conversationId,
    senderId: Number(d.sender_id),
    sender: String(d.sender?.username ?? ''),
    content: String(d.content ?? ''),
  };
}

/** Endpoints carry the subscription's secret path: logs get the origin only. */
function originOf(endpoint: string): string {
  try {
    return new URL(endpoint).origin;
  } catch {
    return '(invalid)';
  }
}
