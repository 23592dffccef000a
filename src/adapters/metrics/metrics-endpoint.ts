import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Logger } from '../../application/ports/services.js';
import { bearer, type HttpReply } from '../gateway/http.js';
import type { PlainRoute } from '../gateway/http-router.js';

export interface Exposition {
  readonly contentType: string;
  readonly body: string;
}

/** This process's metrics. */
export const processMetrics = (registry: Registry) => async (): Promise<Exposition> => ({ contentType: registry.contentType, body: await registry.metrics() });

/** A cluster's metrics, merged from every worker (the supervisor asks them over IPC). */
export function clusterMetrics(): () => Promise<Exposition> {
  const aggregator = new AggregatorRegistry();
  return async () => ({ contentType: aggregator.contentType, body: (await aggregator.clusterMetrics()) as string });
}

/** A worker answers the supervisor's requests for its metrics from this registry. */
export function shareWithSupervisor(registry: Registry): void {
  // prom-client installs a worker's IPC listener when an aggregator is constructed, in the worker too.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
}

/** What became of the metrics port, for the start-up log and /readyz. */
export type MetricsPortState =
  | { readonly state: 'serving'; readonly host: string; readonly port: number }
  | { readonly state: 'unavailable'; readonly host: string; readonly port: number; readonly reason: string };

export interface MetricsServer {
  readonly status: MetricsPortState;
  close(): Promise<void>;
}

/**
 * `/metrics` on its own address (by default loopback only), off the public
 * port. An auxiliary port never stops the chat server: when it cannot be bound
 * (another process on the host has it), this is logged as a warning and the
 * server runs without it; `status` says so.
 */
export async function startMetricsServer(o: { host: string; port: number; collect: () => Promise<Exposition>; logger: Logger }): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    o.collect().then(
      (m) => res.writeHead(200, { 'Content-Type': m.contentType }).end(m.body),
      (error: unknown) => {
        o.logger.error({ err: error }, 'could not collect metrics');
        res.writeHead(500).end();
      },
    );
  });
  const failure = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    server.once('error', resolve);
    server.listen(o.port, o.host, () => resolve(null));
  });
  if (failure) {
    const reason = failure.code === 'EADDRINUSE' ? `port ${o.port} is in use` : (failure.code ?? failure.message);
    o.logger.warn(
      { host: o.host, port: o.port, reason },
      `metrics unavailable: cannot listen on ${o.host}:${o.port} (${reason}); serving without them (set METRICS_PORT to a free port, or 0 for none)`,
    );
    return { status: { state: 'unavailable', host: o.host, port: o.port, reason }, close: () => Promise.resolve() };
  }
  const port = (server.address() as AddressInfo).port;
  o.logger.info({ host: o.host, port }, `metrics on http://${o.host}:${port}/metrics`);
  return { status: { state: 'serving', host: o.host, port }, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** `/metrics` on the public port, for a caller presenting METRICS_TOKEN as a bearer token. */
export function metricsRoute(token: string, collect: () => Promise<Exposition>): PlainRoute {
  const expected = Buffer.from(token);
  return {
    method: 'GET',
    path: '/metrics',
    handle: async (request): Promise<HttpReply> => {
      const given = Buffer.from(bearer(request.header('authorization')) ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        return { status: 401, headers: [['WWW-Authenticate', 'Bearer']], body: { error: { code: 'UNAUTHORIZED', message: 'A metrics token is required' } } };
      }
      const m = await collect();
      return { status: 200, raw: { contentType: m.contentType, data: m.body } };
    },
  };
}
