import type { EventStream, StreamEvent } from '../ports/event-stream.js';
import type { Clock, Logger } from '../ports/services.js';
import type { Telemetry } from '../ports/telemetry.js';
import type { Leadership, WebhookEndpoint, WebhookMessage, WebhookRepository, WebhookSender } from '../ports/webhooks.js';

export interface WebhookDispatcherOptions {
  /** Events read per page. @default 100 */
  readonly batch?: number;
  /** Conversations of one endpoint delivered side by side (each in order). @default 8 */
  readonly concurrency?: number;
  /** How often an idle endpoint looks for new events, and the endpoint list is re-read. @default 250 */
  readonly pollMs?: number;
  /** First retry delay's ceiling; doubles per attempt (full jitter). */
  readonly retryBaseMs: number;
  /** Largest retry delay. */
  readonly retryMaxMs: number;
  /** A delivery failing for this long is dead-lettered. */
  readonly retryForMs: number;
}

/** How often a delivering endpoint's cursor is written at most while a page is under way. */
const CURSOR_PERSIST_MS = 1_000;

/** The webhooks one stream event makes: one, or one per recipient for `message.unread`. */
export function webhooksOf(event: StreamEvent): WebhookMessage[] {
  const base = { type: event.type, timestamp: event.createdAt };
  if (event.type !== 'message.unread') return [{ ...base, id: `evt_${event.id}`, data: event.data }];
  const userIds = Array.isArray(event.data.user_ids) ? (event.data.user_ids as number[]) : [];
  return userIds.map((userId) => ({
    ...base,
    id: `evt_${event.id}_${userId}`,
    data: { user_id: userId, conversation_id: event.conversationId, message: event.data.message },
  }));
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * Delivers the event stream to every endpoint, at least once and in id order
 * per conversation. Runs only in the process that holds the leadership. Each
 * endpoint has its own loop with at most `concurrency` requests in flight
 * (one per conversation), so a hanging endpoint delays nobody else, and the
 * number of endpoints (capped) bounds the total. It only reads the stream:
 * the send path knows nothing of it.
 */
export class WebhookDispatcher {
  private readonly loops = new Map<number, AbortController>();
  private readonly batch: number;
  private readonly pollMs: number;
  private readonly concurrency: number;
  private horizonRead: { readonly at: number; readonly value: Promise<number> } | null = null;

  constructor(
    private readonly stream: EventStream,
    private readonly endpoints: WebhookRepository,
    private readonly sender: WebhookSender,
    private readonly leadership: Leadership,
    private readonly clock: Clock,
    private readonly telemetry: Telemetry,
    private readonly logger: Logger,
    private readonly options: WebhookDispatcherOptions,
  ) {
    this.batch = options.batch ?? 100;
    this.pollMs = options.pollMs ?? 250;
    this.concurrency = options.concurrency ?? 8;
  }

  /**
   * One horizon read serves every endpoint for a poll interval: reading it
   * waits briefly on each write lane, so it is not repeated per endpoint.
   * An older horizon is still one read before the page, so still safe.
   */
  private sharedHorizon(): Promise<number> {
    const now = Date.now();
    if (!this.horizonRead || now - this.horizonRead.at >= this.pollMs) {
      const value = this.stream.horizon();
      this.horizonRead = { at: now, value };
      value.catch(() => (this.horizonRead = null));
    }
    return this.horizonRead.value;
  }

  start(): void {
    this.leadership.run((lost) => this.lead(lost));
  }

  async close(): Promise<void> {
    for (const loop of this.loops.values()) loop.abort();
    await this.leadership.close();
  }

  /** While leading: keeps one loop per endpoint, starting and stopping them as endpoints come and go. */
  private async lead(lost: AbortSignal): Promise<void> {
    this.logger.info('webhook dispatcher: leading');
    const running = new Map<number, Promise<void>>();
    while (!lost.aborted) {
      try {
        const ids = new Set((await this.endpoints.list()).map((e) => e.id));
        for (const id of ids) {
          if (running.has(id)) continue;
          const control = new AbortController();
          lost.addEventListener('abort', () => control.abort(), { once: true });
          this.loops.set(id, control);
          running.set(
            id,
            this.endpointLoop(id, control.signal).finally(() => {
              running.delete(id);
              this.loops.delete(id);
            }),
          );
        }
        for (const [id, control] of this.loops) if (!ids.has(id)) control.abort();
      } catch (error) {
        this.logger.warn({ err: error }, 'webhook dispatcher: cannot read the endpoints; retrying');
      }
      await sleep(this.pollMs * 4, lost);
    }
    for (const control of this.loops.values()) control.abort();
    await Promise.allSettled(running.values());
    this.logger.info('webhook dispatcher: no longer leading');
  }

  private async endpointLoop(id: number, stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      try {
        const endpoint = await this.endpoints.get(id);
        if (!endpoint) return;
        const moved = await this.deliverPage(endpoint, stop);
        if (!moved) await sleep(this.pollMs, stop);
      } catch (error) {
        this.logger.warn({ err: error, endpoint: id }, 'webhook endpoint loop failed; retrying');
        await sleep(this.pollMs * 4, stop);
      }
    }
  }

  /**
   * Delivers one page from the endpoint's cursor; true when there may be more
   * right away. Only events up to a horizon read before the page are
   * delivered, and the cursor never moves past it: everything up to it was
   * committed before the page's read began, so the read saw all of it and no
   * later commit of a smaller id can be skipped.
   *
   * The page's conversations are delivered side by side, up to `concurrency`
   * at once, each one's events one at a time in id order: a failing
   * conversation waits in its retries while the others go on. The cursor is
   * the end of the delivered prefix of the page, persisted at the page's end,
   * before a retry's first wait, and at most every `CURSOR_PERSIST_MS`
   * meanwhile: a crash delivers again at most that much (at least once;
   * receivers deduplicate by webhook-id), and a busy stream costs no write
   * per event.
   */
  private async deliverPage(endpoint: WebhookEndpoint, stop: AbortSignal): Promise<boolean> {
    const horizon = await this.sharedHorizon();
    if (horizon <= endpoint.cursor) return false;
    const page = await this.stream.all(endpoint.cursor, this.batch, endpoint.eventTypes);
    const events = page.events.filter((e) => e.id <= horizon);

    let persisted = endpoint.cursor;
    let cursor = endpoint.cursor;
    let persistedAt = Date.now();
    let persisting: Promise<boolean> | null = null;
    const persist = async (): Promise<boolean> => {
      while (persisting) if (!(await persisting)) return false;
      const target = cursor;
      if (target === persisted) return true;
      persisting = this.endpoints
        .advance(endpoint.id, persisted, target)
        .then((advanced) => {
          if (advanced) [persisted, persistedAt] = [target, Date.now()];
          return advanced;
        })
        .finally(() => (persisting = null));
      return persisting;
    };

    const delivered = new Array<boolean>(events.length).fill(false);
    let prefix = 0;
    const markDelivered = (index: number) => {
      delivered[index] = true;
      while (prefix < events.length && delivered[prefix]) cursor = events[prefix++]!.id;
    };

    // Stops the page's other conversations once one finds the cursor moved (a replay) or the loop stops.
    const page$ = new AbortController();
    const stopPage = () => page$.abort();
    stop.addEventListener('abort', stopPage, { once: true });
    let moved = false;
    const chains = new Map<number, number[]>();
    events.forEach((event, index) => {
      const chain = chains.get(event.conversationId);
      if (chain) chain.push(index);
      else chains.set(event.conversationId, [index]);
    });
    const queue = [...chains.values()];
    let failure: unknown = null;
    const worker = async () => {
      try {
        for (let chain = queue.shift(); chain && !page$.signal.aborted; chain = queue.shift()) {
          for (const index of chain) {
            const event = events[index]!;
            for (const message of webhooksOf(event)) {
              const outcome = await this.deliver(endpoint, event.id, message, page$.signal, persist);
              if (outcome === 'moved') moved = true;
              if (outcome !== true) return void page$.abort();
            }
            markDelivered(index);
            if (Date.now() - persistedAt >= CURSOR_PERSIST_MS && !(await persist())) return void ((moved = true), page$.abort());
          }
        }
      } catch (error) {
        failure ??= error;
        page$.abort();
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(this.concurrency, queue.length) }, worker));
    } finally {
      stop.removeEventListener('abort', stopPage);
    }
    if (failure !== null) {
      await persist().catch(() => undefined);
      throw failure;
    }
    if (moved) return true; // replayed or deleted meanwhile: re-read
    if (prefix < events.length) {
      await persist().catch(() => undefined); // stopped: the next leader resumes after the delivered prefix
      return false;
    }
    // The page covered everything up to the horizon unless it was cut short before it.
    const covered = !page.hasMore || page.next > horizon;
    const target = covered ? horizon : page.next;
    if (target > cursor) cursor = target;
    if (!(await persist())) return true;
    return !covered;
  }

  /**
   * Sends until a 2xx or until it is dead-lettered (true), or until stopped (false).
   * `beforeRetry` persists the progress made so far before the first wait; 'moved' when it
   * finds the cursor moved meanwhile (a replay, or the endpoint deleted).
   */
  private async deliver(
    endpoint: WebhookEndpoint,
    eventId: number,
    message: WebhookMessage,
    stop: AbortSignal,
    beforeRetry: () => Promise<boolean>,
  ): Promise<boolean | 'moved'> {
    const first = this.clock.now();
    for (let attempt = 1; ; attempt++) {
      if (stop.aborted) return false;
      const outcome = await this.sender.send(endpoint, message);
      const at = this.clock.now();
      if (outcome.ok) {
        this.telemetry.webhookDelivery('delivered');
        if (attempt > 1) await this.endpoints.recordRecovery(endpoint.id, message.id, attempt, at);
        return true;
      }
      const dead = at.getTime() - first.getTime() >= this.options.retryForMs;
      this.telemetry.webhookDelivery(dead ? 'dead' : 'failed');
      const failure = {
        webhookId: message.id,
        eventId,
        eventType: message.type,
        attempts: attempt,
        responseStatus: outcome.status,
        error: outcome.error.slice(0, 500),
        firstAttemptAt: first,
        at,
      };
      await this.endpoints.recordFailure(endpoint.id, failure, dead ? 'dead' : 'retrying');
      if (attempt === 1 && !(await beforeRetry())) return 'moved';
      if (dead) {
        this.logger.warn({ endpoint: endpoint.id, webhookId: message.id, attempts: attempt }, 'webhook dead-lettered');
        return true;
      }
      // Full jitter: anywhere between 0 and the exponential ceiling.
      const ceiling = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** (attempt - 1));
      await sleep(Math.random() * ceiling, stop);
    }
  }
}
