/**
 * The broker port: what a message broker does for the fan-out engine, and no
 * more. It carries opaque text payloads on topics, subscribes by interest and
 * reports its connection state. Ordering per conversation, duplicate
 * suppression, holding, catch-up from PostgreSQL and delivery to connections
 * are the engine's (fanout-engine.ts), the same for every broker.
 *
 * Topics are the engine's names (`all`, `c.<conversation id>`,
 * `u.<user id>`); an adapter maps them to its own subjects or channels under
 * its prefix, and back.
 */
export interface Broker {
  /** For logs and `/readyz`: `postgres`, `nats`, `redis`, `local`. */
  readonly name: string;
  /**
   * `broadcast`: every process receives everything published, whatever it
   * subscribed to (PostgreSQL NOTIFY, in commit order); the engine then
   * orders messages per write lane. `interest`: a process receives only the
   * topics it subscribed to; the engine orders messages per conversation.
   */
  readonly routing: 'broadcast' | 'interest';
  /**
   * New messages are announced by the statement that stores them
   * (PostgreSQL): the engine publishes none itself.
   */
  readonly announcedByWrites: boolean;
  /**
   * Starts connecting and resolves at once: an unreachable broker delays
   * readiness (`state`), never the process. `inbound.up()` is called on each
   * (re)connection once subscriptions are in place again, `inbound.down()`
   * when the connection is lost.
   */
  start(inbound: BrokerInbound): Promise<void>;
  /**
   * Hands a payload to the broker. Payloads published by one process on one
   * topic arrive in the order published. Resolves when handed over (never
   * rejects: a publish lost while the broker is away is the engine's to
   * recover from PostgreSQL).
   */
  publish(topic: string, payload: string): Promise<void>;
  /** Resolves once the broker confirms the subscriptions (messages published after that arrive). */
  subscribe(topics: readonly string[]): Promise<void>;
  unsubscribe(topics: readonly string[]): Promise<void>;
  readonly state: BrokerState;
  close(): Promise<void>;
}

export interface BrokerInbound {
  /** A payload as received: untrusted, decoded and checked by the engine. */
  message(topic: string, payload: string): void;
  /** The connection is lost: what arrives until `up` may be incomplete. */
  down(reason: string): void;
  /** Connected (again), subscriptions restored. */
  up(): void;
  /** Something unusable arrived (foreign subject, bad encoding): counted, dropped. */
  rejected(reason: string): void;
}

export interface BrokerState {
  readonly broker: string;
  readonly state: 'connecting' | 'up' | 'down' | 'closed';
  readonly since: string;
  readonly outages: number;
  /** Where it connects, credentials removed. */
  readonly url?: string;
}

/** Topic names, shared by the engine and every adapter. */
export const TOPIC_ALL = 'all';
export const conversationTopic = (id: number): string => `c.${id}`;
export const userTopic = (id: number): string => `u.${id}`;
/** A topic name is `all`, `c.<id>` or `u.<id>`: anything else is foreign. */
export const isTopic = (topic: string): boolean => topic === TOPIC_ALL || /^[cu]\.[1-9][0-9]{0,15}$/.test(topic);

/** A URL for logs and `/readyz`: user name and password replaced. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = u.username ? '***' : '';
      u.password = u.password ? '***' : '';
    }
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}
