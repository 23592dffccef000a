import { TOPIC_ALL, type Broker, type BrokerInbound, type BrokerState } from '../engine/broker.js';

/**
 * One process alone (FANOUT=local): what is published comes straight back,
 * in order, to this process. For a single process and for tests.
 */
export class LocalBroker implements Broker {
  readonly name = 'local';
  readonly routing = 'broadcast';
  readonly announcedByWrites = false;
  private inbound: BrokerInbound | null = null;
  private status: BrokerState = { broker: 'local', state: 'connecting', since: new Date().toISOString(), outages: 0 };

  get state(): BrokerState {
    return this.status;
  }

  async start(inbound: BrokerInbound): Promise<void> {
    this.inbound = inbound;
    this.status = { ...this.status, state: 'up', since: new Date().toISOString() };
    inbound.up();
  }

  async publish(_topic: string, payload: string): Promise<void> {
    this.inbound?.message(TOPIC_ALL, payload);
  }

  async subscribe(): Promise<void> {}
  async unsubscribe(): Promise<void> {}

  async close(): Promise<void> {
    this.status = { ...this.status, state: 'closed', since: new Date().toISOString() };
    this.inbound = null;
  }
}
