import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { WEBHOOK_OUTCOMES, type EventRecorder, type Telemetry, type WebhookOutcome } from '../../application/ports/telemetry.js';
import { PUSH_OUTCOMES, type PushOutcome } from '../../application/ports/push.js';
import { BoundHistogram } from './bound-histogram.js';

/** From half a millisecond (a cached read) to seconds (a database that struggles). */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const bounded = (name: string, known: (n: string) => boolean) => (known(name) ? name : 'other');

/** Prometheus metrics with prom-client, one registry per process (a cluster's are merged by the supervisor). */
export class PromTelemetry implements Telemetry {
  readonly registry = new Registry();
  private readonly connections: Gauge;
  private readonly events: BoundHistogram;
  private readonly requests: Counter;
  private readonly requestSeconds: Histogram;
  private readonly acknowledged: Counter;
  private readonly batchSize: Histogram;
  private readonly commitSeconds: Histogram;
  private readonly batches: Counter;
  private readonly lag: Histogram;
  private readonly listening: Gauge;
  private readonly outages: Counter;
  private readonly rejected: Counter;
  private readonly limitedTotal: Counter;
  private readonly slowConsumers: Counter;
  private readonly refusedUpgrades: Counter;
  private readonly webhooks: Counter;
  private readonly pushes: Counter;

  constructor(labels: Record<string, string> = {}) {
    const registers = [this.registry];
    this.registry.setDefaultLabels(labels);
    // Under their standard names (process_cpu_seconds_total, nodejs_eventloop_lag_seconds, ...), as stock dashboards expect.
    collectDefaultMetrics({ register: this.registry });
    this.connections = new Gauge({ name: 'chat_connections', help: 'Open realtime connections', labelNames: ['transport', 'protocol'], registers });
    this.events = new BoundHistogram({
      name: 'chat_event_duration_seconds',
      help: 'Time to answer a client event, from its frame to its answer, by event and result code',
      labelNames: ['event', 'code'],
      buckets: DURATION_BUCKETS,
      registry: this.registry,
    });
    this.events.counter('chat_events_total', 'Client events answered, by event and result code');
    this.requests = new Counter({
      name: 'chat_http_requests_total',
      help: 'REST requests answered, by route, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.requestSeconds = new Histogram({
      name: 'chat_http_request_duration_seconds',
      help: 'Time to answer a REST request, by route pattern, method and status',
      labelNames: ['route', 'method', 'status'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.acknowledged = new Counter({ name: 'chat_messages_acknowledged_total', help: 'Messages stored and acknowledged', registers });
    this.batchSize = new Histogram({
      name: 'chat_write_batch_size',
      help: 'Messages per committed batch',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 800],
      registers,
    });
    this.commitSeconds = new Histogram({
      name: 'chat_write_commit_seconds',
      help: 'Time to write and commit one batch',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.batches = new Counter({ name: 'chat_write_batches_total', help: 'Batches written, by outcome', labelNames: ['result'], registers });
    this.lag = new Histogram({
      name: 'chat_fanout_lag_seconds',
      help: 'From a message reaching its server to its delivery on this process',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.listening = new Gauge({ name: 'chat_fanout_listening', help: '1 while the fan-out broker is connected and caught up', registers });
    this.outages = new Counter({ name: 'chat_fanout_outages_total', help: 'Losses of the fan-out broker connection', registers });
    this.rejected = new Counter({ name: 'chat_fanout_rejected_total', help: 'Fan-out notifications dropped as malformed or foreign', registers });
    this.limitedTotal = new Counter({
      name: 'chat_rate_limited_total',
      help: 'Requests, events and upgrades refused by a limit',
      labelNames: ['limit'],
      registers,
    });
    this.slowConsumers = new Counter({
      name: 'chat_slow_consumer_closes_total',
      help: 'Connections closed for falling too far behind (4008)',
      labelNames: ['protocol'],
      registers,
    });
    this.refusedUpgrades = new Counter({ name: 'chat_upgrades_refused_total', help: 'Upgrades refused, by reason', labelNames: ['reason'], registers });
    this.webhooks = new Counter({ name: 'chat_webhook_deliveries_total', help: 'Webhook attempts, by outcome', labelNames: ['outcome'], registers });
    for (const outcome of WEBHOOK_OUTCOMES) this.webhooks.inc({ outcome }, 0);
    this.pushes = new Counter({ name: 'chat_pushes_total', help: 'Web Pushes to offline users, by outcome', labelNames: ['outcome'], registers });
    for (const outcome of PUSH_OUTCOMES) this.pushes.inc({ outcome }, 0);
  }

  connectionOpened(transport: string, protocol: string): void {
    this.connections.inc({ transport, protocol });
  }

  connectionClosed(transport: string, protocol: string): void {
    this.connections.dec({ transport, protocol });
  }

  /** Hot path: the event's series are bound here, once; an answer then only adds to a cell (see BoundHistogram). */
  eventRecorder(name: string): EventRecorder {
    const byCode = new Map<string, ReturnType<BoundHistogram['cell']>>();
    const cell = (code: string) => {
      let c = byCode.get(code);
      if (!c) byCode.set(code, (c = this.events.cell(name, code)));
      return c;
    };
    const ok = cell('ok');
    return (code, seconds) => (code === 'ok' ? ok : cell(code)).observe(seconds);
  }

  httpRequest(route: string, method: string, status: number, seconds: number): void {
    const labels = { route, method, status: String(status) };
    this.requests.inc(labels);
    this.requestSeconds.observe(labels, seconds);
  }

  messagesAcknowledged(count: number): void {
    this.acknowledged.inc(count);
  }

  writeBatch(size: number, seconds: number, ok: boolean): void {
    this.batches.inc({ result: ok ? 'committed' : 'failed' });
    if (!ok) return;
    this.batchSize.observe(size);
    this.commitSeconds.observe(seconds);
  }

  fanoutDelivered(seconds: number): void {
    this.lag.observe(Math.max(0, seconds));
  }

  fanoutListening(listening: boolean): void {
    this.listening.set(listening ? 1 : 0);
  }

  fanoutRejected(): void {
    this.rejected.inc();
  }

  fanoutOutage(): void {
    this.outages.inc();
  }

  limited(limit: string): void {
    this.limitedTotal.inc({ limit });
  }

  slowConsumerClosed(protocol: string): void {
    this.slowConsumers.inc({ protocol: bounded(protocol, (p) => p === 'ws' || p === 'socketio') });
  }

  webhookDelivery(outcome: WebhookOutcome): void {
    this.webhooks.inc({ outcome });
  }

  upgradeRefused(reason: string): void {
    this.refusedUpgrades.inc({ reason });
  }

  pushed(outcome: PushOutcome): void {
    this.pushes.inc({ outcome });
  }
}
