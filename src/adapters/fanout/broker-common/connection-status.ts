import type { Logger } from '../../../application/ports/services.js';
import { redactUrl, type BrokerInbound, type BrokerState } from '../engine/broker.js';

/**
 * The connection state a broker adapter reports (`state`, `down`/`up`), and
 * publish failures logged once per outage. Shared by the NATS and Redis
 * adapters so both report the same way.
 */
export class ConnectionStatus {
  private current: BrokerState['state'] = 'connecting';
  private since = new Date().toISOString();
  private outages = 0;
  private failedPublishes = 0;
  private publishFailureLogged = false;
  private inbound: BrokerInbound | null = null;
  readonly url: string;

  constructor(
    private readonly broker: string,
    url: string,
    private readonly log: Logger,
  ) {
    this.url = url
      .split(',')
      .map((part) => redactUrl(part.trim()))
      .join(',');
  }

  get state(): BrokerState {
    return { broker: this.broker, state: this.current, since: this.since, outages: this.outages, url: this.url };
  }

  get isUp(): boolean {
    return this.current === 'up';
  }

  get isClosed(): boolean {
    return this.current === 'closed';
  }

  /** Publishes that could not be handed to the client (while it was away). */
  get publishFailures(): number {
    return this.failedPublishes;
  }

  attach(inbound: BrokerInbound): void {
    this.inbound = inbound;
  }

  up(): void {
    if (this.current === 'up' || this.current === 'closed') return;
    this.set('up');
    this.publishFailureLogged = false;
    this.log.info({ url: this.url }, 'broker connected');
    this.inbound?.up();
  }

  /** Connection lost (or not there yet): `down` is reported once per outage. */
  down(reason: string): void {
    if (this.current !== 'up') return;
    this.set('down');
    this.outages += 1;
    this.log.warn({ url: this.url, reason }, 'broker connection lost');
    this.inbound?.down(reason);
  }

  closed(): void {
    this.set('closed');
  }

  publishFailed(reason: string): void {
    this.failedPublishes += 1;
    if (this.publishFailureLogged) return;
    this.publishFailureLogged = true;
    this.log.warn({ url: this.url, reason, failedPublishes: this.failedPublishes }, 'broker publish failed (logged once per outage)');
  }

  private set(state: BrokerState['state']): void {
    this.current = state;
    this.since = new Date().toISOString();
  }
}

/** Removes the URL's user name and password from a text that may echo them (error messages). */
export function scrubCredentials(text: string, url: string): string {
  let out = text;
  for (const part of url.split(',')) {
    try {
      const u = new URL(part.trim());
      for (const secret of [u.password, decodeURIComponent(u.password), u.username, decodeURIComponent(u.username)]) {
        if (secret.length >= 3) out = out.split(secret).join('***');
      }
    } catch {
      // An unparseable part has nothing to scrub we could find.
    }
  }
  return out;
}

/** Exponential backoff with jitter: a random wait between half and all of min(max, base * 2^attempt). */
export function jitteredDelay(attempt: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}
