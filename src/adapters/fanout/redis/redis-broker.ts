import { createClient } from 'redis';
import type { Logger } from '../../../application/ports/services.js';
import { isTopic, type Broker, type BrokerInbound, type BrokerState } from '../engine/broker.js';
import { acceptInbound } from '../broker-common/inbound-check.js';
import { ConnectionStatus, jitteredDelay, scrubCredentials } from '../broker-common/connection-status.js';

export interface RedisBrokerOptions {
  /** `redis://[user:pass@]host:port[/db]`, or `rediss://` for TLS. Redis 7.0 or later (sharded pub/sub). */
  readonly url: string;
  /** Channel prefix: topic `c.12` travels on `<prefix>:c:12`. */
  readonly prefix: string;
  readonly logger: Logger;
  /** Client name (CLIENT SETNAME); the subscribing connection adds `-sub`. @default 'chat-backend' */
  readonly name?: string;
  /** First reconnect wait in ms; doubles per attempt up to `maxRetryMs`, with jitter. @default 250 */
  readonly retryMs?: number;
  /** @default 10000 */
  readonly maxRetryMs?: number;
}

type RedisClient = ReturnType<typeof createClient>;

/** SSUBSCRIBE takes many channels at once; batches keep each command reasonably sized. */
const SUBSCRIBE_BATCH = 1000;

/**
 * The broker port on Redis sharded pub/sub (SSUBSCRIBE/SPUBLISH), channels
 * `<prefix>:<topic>` with `.` written `:` (`chat:c:12`). One connection
 * publishes; a duplicate in pub/sub mode subscribes. Both reconnect forever
 * with capped jittered backoff; the client resubscribes before it reports
 * `ready`, so `up` follows the subscriber's `ready`. The publishing
 * connection has no offline queue: while Redis is away a publish fails at
 * once (counted, logged once per outage) instead of piling up in memory.
 */
export class RedisBroker implements Broker {
  readonly name = 'redis';
  readonly routing = 'interest' as const;
  readonly announcedByWrites = false;
  private readonly status: ConnectionStatus;
  private readonly log: Logger;
  private readonly pub: RedisClient;
  private readonly sub: RedisClient;
  private readonly topics = new Set<string>();
  private readonly channelPrefix: string;
  private inbound: BrokerInbound | null = null;
  /** Set when the subscriber first connects: before that, subscriptions are only recorded. */
  private subscribedOnce = false;
  /** Subscriptions sent while not up: `up` is reported after they are confirmed. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: RedisBrokerOptions) {
    this.log = options.logger.child({ component: 'broker', broker: 'redis' });
    this.status = new ConnectionStatus('redis', options.url, this.log);
    this.channelPrefix = `${options.prefix}:`;
    const retryMs = options.retryMs ?? 250;
    const maxRetryMs = options.maxRetryMs ?? 10_000;
    const name = options.name ?? 'chat-backend';
    this.pub = createClient({
      url: options.url,
      name,
      disableOfflineQueue: true,
      socket: { reconnectStrategy: (retries: number) => jitteredDelay(retries, retryMs, maxRetryMs) },
    });
    this.sub = this.pub.duplicate({ name: `${name}-sub`, disableOfflineQueue: false });
    for (const client of [this.pub, this.sub]) {
      client.on('error', (err: unknown) => this.lost(client, err));
      client.on('reconnecting', () => this.lost(client, 'reconnecting'));
      client.on('ready', () => void this.ready());
    }
  }

  get state(): BrokerState {
    return this.status.state;
  }

  /** Publishes made while the broker was away (lost, or at risk of it): for metrics. */
  get publishFailures(): number {
    return this.status.publishFailures;
  }

  async start(inbound: BrokerInbound): Promise<void> {
    this.inbound = inbound;
    this.status.attach(inbound);
    for (const client of [this.pub, this.sub]) void client.connect().catch((err: unknown) => this.lost(client, err));
  }

  async publish(topic: string, payload: string): Promise<void> {
    try {
      // Not awaited: commands on one connection are written in call order, so per-topic order holds without a round trip each.
      this.pub.sPublish(this.channelOf(topic), payload).catch((err: unknown) => this.status.publishFailed(this.describe(err)));
    } catch (err) {
      this.status.publishFailed(this.describe(err));
    }
  }

  async subscribe(topics: readonly string[]): Promise<void> {
    for (const t of topics) if (!isTopic(t)) throw new Error(`not a topic: ${t}`);
    const added = topics.filter((t) => !this.topics.has(t));
    for (const t of added) this.topics.add(t);
    if (added.length === 0 || !this.subscribedOnce) return;
    const sent = this.sSubscribe(added);
    if (this.status.isUp) {
      // Lost before the reply: the client keeps the subscription for its resubscribe, and `up` will follow.
      return sent.catch((err: unknown) => {
        if (this.status.isUp) throw err;
      });
    }
    // While Redis is away the command waits in the offline queue (and the client resubscribes on `ready` anyway); `up` waits for it.
    const tracked = sent.catch(() => undefined).finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  async unsubscribe(topics: readonly string[]): Promise<void> {
    const removed = topics.filter((t) => this.topics.delete(t));
    if (removed.length === 0 || !this.subscribedOnce) return;
    const sent = this.sub.sUnsubscribe(removed.map((t) => this.channelOf(t)));
    if (this.status.isUp) await sent.catch((err: unknown) => this.log.warn({ reason: this.describe(err) }, 'SUNSUBSCRIBE failed'));
    else sent.catch(() => undefined);
  }

  async close(): Promise<void> {
    this.status.closed();
    for (const client of [this.pub, this.sub]) {
      // A client still retrying has nothing to flush: destroy it, or close() would wait for a server that may never come.
      if (client.isReady) await client.close().catch(() => client.destroy());
      else if (client.isOpen) client.destroy();
    }
  }

  private async sSubscribe(topics: readonly string[]): Promise<void> {
    for (let i = 0; i < topics.length; i += SUBSCRIBE_BATCH) {
      const channels = topics.slice(i, i + SUBSCRIBE_BATCH).map((t) => this.channelOf(t));
      await this.sub.sSubscribe(channels, this.onMessage, true);
    }
  }

  private readonly onMessage = (message: Buffer, channel: Buffer): void => {
    if (this.inbound === null) return;
    acceptInbound(this.inbound, this.topicOf(channel.toString('latin1')), message);
  };

  private async ready(): Promise<void> {
    if (!this.pub.isReady || !this.sub.isReady || this.status.isClosed) return;
    if (!this.subscribedOnce) {
      // Set first, so topics subscribed meanwhile are sent by subscribe() itself.
      this.subscribedOnce = true;
      try {
        await this.sSubscribe([...this.topics]);
      } catch (err) {
        return this.lost(this.sub, err); // Lost while subscribing: the client resubscribes what it recorded on its next `ready`.
      }
    }
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    if (this.pub.isReady && this.sub.isReady) this.status.up();
  }

  private lost(client: RedisClient, err: unknown): void {
    if (client.isReady || this.status.isClosed) return;
    const reason = err === 'reconnecting' ? 'reconnecting' : this.describe(err);
    if (this.status.isUp) this.status.down(reason);
    else this.log.debug({ reason }, 'Redis not reachable yet');
  }

  private channelOf(topic: string): string {
    return this.channelPrefix + topic.replaceAll('.', ':');
  }

  /** `chat:c:12` -> `c.12`; `null` for a channel outside the prefix or already written with dots. */
  private topicOf(channel: string): string | null {
    if (!channel.startsWith(this.channelPrefix)) return null;
    const rest = channel.slice(this.channelPrefix.length);
    return rest.includes('.') ? null : rest.replaceAll(':', '.');
  }

  private describe(err: unknown): string {
    return scrubCredentials(err instanceof Error ? err.message : String(err), this.options.url);
  }
}
