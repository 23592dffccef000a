import { connect, type NatsConnection, type NodeConnectionOptions, type Subscription, type Msg } from '@nats-io/transport-node';
import type { Logger } from '../../../application/ports/services.js';
import { isTopic, type Broker, type BrokerInbound, type BrokerState } from '../engine/broker.js';
import { acceptInbound } from '../broker-common/inbound-check.js';
import { ConnectionStatus, jitteredDelay, scrubCredentials } from '../broker-common/connection-status.js';
import { parseNatsUrl, type NatsServerList } from './nats-url.js';

export interface NatsBrokerOptions {
  /**
   * One server or several, comma-separated (a cluster): `nats://host:4222`,
   * `nats://user:pass@host:4222`, `nats://token@host:4222`, `tls://host:4222`.
   * The first credentials found are used for every server; `tls://` anywhere
   * requires TLS.
   */
  readonly url: string;
  /** Subject prefix: topic `c.12` travels on `<prefix>.c.12`. */
  readonly prefix: string;
  readonly logger: Logger;
  /** Client name shown by the server's monitoring. @default 'chat-backend' */
  readonly name?: string;
  /** Wait between reconnect attempts to one server, in ms. @default 1000 */
  readonly reconnectWaitMs?: number;
  /** Upper bound of the random wait added to it, in ms. @default 1000 */
  readonly reconnectJitterMs?: number;
  /** Try the servers in the order listed instead of shuffled (shuffling spreads processes over a cluster). @default false */
  readonly noRandomize?: boolean;
}

/**
 * The broker port on NATS core (no JetStream): one subscription per topic
 * (interest routing), subjects `<prefix>.<topic>`. The client reconnects
 * forever across the listed servers and resubscribes by itself; `up` is
 * reported after a round trip to the server proves the subscriptions are
 * back. If the connection is closed for good (e.g. authentication refused
 * twice), a new one is made after a jittered wait.
 */
export class NatsBroker implements Broker {
  readonly name = 'nats';
  readonly routing = 'interest' as const;
  readonly announcedByWrites = false;
  private readonly status: ConnectionStatus;
  private readonly log: Logger;
  private readonly subs = new Map<string, Subscription | null>();
  private readonly subjectPrefix: string;
  private readonly servers: NatsServerList;
  private nc: NatsConnection | null = null;
  private inbound: BrokerInbound | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private attempts = 0;
  /** Counts SUBs sent, so `up` waits for a round trip after the last of them. */
  private subscriptionsMade = 0;

  constructor(private readonly options: NatsBrokerOptions) {
    this.log = options.logger.child({ component: 'broker', broker: 'nats' });
    this.status = new ConnectionStatus('nats', options.url, this.log);
    this.subjectPrefix = `${options.prefix}.`;
    this.servers = parseNatsUrl(options.url); // a malformed URL fails here, at start-up, not in the background
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
    void this.connectLoop();
  }

  async publish(topic: string, payload: string): Promise<void> {
    const nc = this.nc;
    if (nc === null) return this.status.publishFailed('not connected');
    // While disconnected the client buffers, but drops its buffer at each reconnect attempt: count these as lost.
    if (!this.status.isUp) this.status.publishFailed('not connected');
    try {
      nc.publish(this.subjectPrefix + topic, payload);
    } catch (err) {
      this.status.publishFailed(this.describe(err));
    }
  }

  async subscribe(topics: readonly string[]): Promise<void> {
    let added = false;
    for (const topic of topics) {
      if (!isTopic(topic)) throw new Error(`not a topic: ${topic}`); // a wildcard would subscribe to far more
      if (this.subs.has(topic)) continue;
      this.subs.set(topic, this.nc ? this.subscribeOne(this.nc, topic) : null);
      added = true;
    }
    if (added) await this.confirm();
  }

  async unsubscribe(topics: readonly string[]): Promise<void> {
    for (const topic of topics) {
      const sub = this.subs.get(topic);
      this.subs.delete(topic);
      // The client drops messages for a removed subscription at once; the server is told in passing.
      if (sub && !sub.isClosed()) sub.unsubscribe();
    }
  }

  async close(): Promise<void> {
    this.status.closed();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const nc = this.nc;
    this.nc = null;
    this.subs.clear();
    if (nc && !nc.isClosed()) await nc.close().catch(() => undefined);
  }

  /**
   * Resolves once the server has seen every subscription made so far (a
   * PING/PONG round trip). While the connection is away it resolves at once:
   * the subscriptions are made on reconnection, before `up`, and the engine
   * treats what it received before `up` as incomplete anyway.
   */
  private async confirm(): Promise<void> {
    const nc = this.nc;
    if (nc === null || !this.status.isUp) return;
    try {
      await nc.flush();
    } catch (err) {
      if (this.status.isUp && !this.status.isClosed) throw err;
    }
  }

  private subscribeOne(nc: NatsConnection, topic: string): Subscription {
    this.subscriptionsMade += 1;
    const subject = this.subjectPrefix + topic;
    return nc.subscribe(subject, {
      callback: (_err: Error | null, msg: Msg) => {
        if (this.inbound === null) return;
        acceptInbound(this.inbound, msg.subject === subject ? topic : this.topicOf(msg.subject), msg.data);
      },
    });
  }

  private topicOf(subject: string): string | null {
    return subject.startsWith(this.subjectPrefix) ? subject.slice(this.subjectPrefix.length) : null;
  }

  private async connectLoop(): Promise<void> {
    const list = this.servers;
    const opts: NodeConnectionOptions = {
      servers: list.servers,
      name: this.options.name ?? 'chat-backend',
      user: list.user,
      pass: list.pass,
      token: list.token,
      noEcho: false,
      noRandomize: this.options.noRandomize ?? false,
      maxReconnectAttempts: -1,
      reconnectTimeWait: this.options.reconnectWaitMs ?? 1000,
      reconnectJitter: this.options.reconnectJitterMs ?? 1000,
      reconnectJitterTLS: this.options.reconnectJitterMs ?? 1000,
      ...(list.tls ? { tls: {} } : {}),
    };
    let nc: NatsConnection;
    try {
      nc = await connect(opts);
    } catch (err) {
      return this.retry(err);
    }
    if (this.status.isClosed) return void nc.close().catch(() => undefined);
    this.nc = nc;
    this.attempts = 0;
    void this.watch(nc);
    for (const topic of this.subs.keys()) this.subs.set(topic, this.subscribeOne(nc, topic));
    await this.reportUp(nc);
  }

  private retry(err: unknown): void {
    if (this.status.isClosed) return;
    const wait = jitteredDelay(this.attempts++, this.options.reconnectWaitMs ?? 1000, 10_000);
    if (this.attempts === 1) this.log.warn({ url: this.status.url, reason: this.describe(err), retryInMs: wait }, 'cannot connect to NATS yet, retrying');
    this.retryTimer = setTimeout(() => void this.connectLoop(), wait);
  }

  /** Follows the client's status: down on disconnect, up once a round trip after reconnecting proves the resubscriptions. */
  private async watch(nc: NatsConnection): Promise<void> {
    void nc.closed().then((err) => {
      if (this.nc !== nc || this.status.isClosed) return;
      this.nc = null;
      this.status.down(err ? this.describe(err) : 'connection closed');
      this.retry(err ?? new Error('connection closed'));
    });
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') this.status.down(`disconnected from ${s.server}`);
      else if (s.type === 'reconnect') void this.reportUp(nc);
      else if (s.type === 'error') this.log.warn({ reason: this.describe(s.error) }, 'NATS error');
    }
  }

  private async reportUp(nc: NatsConnection): Promise<void> {
    try {
      // Subscriptions made during the round trip were sent after its PING: round trip again until none were.
      let made: number;
      do {
        made = this.subscriptionsMade;
        await nc.flush();
      } while (made !== this.subscriptionsMade);
    } catch {
      return; // Lost again before the round trip: the next reconnect reports up.
    }
    if (this.nc === nc && !nc.isClosed()) this.status.up();
  }

  private describe(err: unknown): string {
    return scrubCredentials(err instanceof Error ? err.message : String(err), this.options.url);
  }
}
