import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHAT_EVENTS } from '../../src/adapters/gateway/chat-events.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { WsClient } from '../support/ws-client.js';

const TOKEN = 'metrics-token-metrics-token-0123';
let server: TestServer;
const clients: WsClient[] = [];

beforeAll(async () => {
  server = await startTestServer({ METRICS_TOKEN: TOKEN, RATE_LIMITS: 'on', REST_SENDS_PER_USER_PER_MINUTE: '5' });
});
afterAll(async () => {
  for (const c of clients) c.socket.terminate();
  await server?.stop();
});

/** The value of one series in the exposition text (0 when absent). */
const value = (text: string, name: string, labels: Record<string, string> = {}): number => {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const [series, number] = [line.slice(0, line.lastIndexOf(' ')), line.slice(line.lastIndexOf(' ') + 1)];
    if (series.split('{')[0] !== name) continue;
    if (wanted.every((w) => series.includes(w))) return Number(number);
  }
  return 0;
};

const scrape = async () => (await fetch(`http://127.0.0.1:${server.port}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();

/** The label values a series carries, over every line of it. */
const labelValues = (text: string, name: string, label: string): string[] =>
  [...new Set([...text.matchAll(new RegExp(`^${name}\\{[^}]*${label}="([^"]*)"`, 'gm'))].map((m) => m[1]!))].sort();

describe('/metrics', () => {
  it('is refused without the metrics token on the public port', async () => {
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(res.status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${server.port}/metrics`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
  });

  it('reports connections, events, REST requests, acknowledged messages, batches, fan-out and rejections under load', async () => {
    const [a, b] = [await server.http.register(), await server.http.register()];
    const conv = (await server.http.post('/conversations', { participant_ids: [b.id] }, a.token)).body.id;
    const [wa, wb] = [await WsClient.connect(server.wsUrl, a.token), await WsClient.connect(server.wsUrl, b.token)];
    clients.push(wa, wb);
    const before = await scrape();
    const sent = await Promise.all(Array.from({ length: 40 }, (_, i) => wa.request('sendMessage', { conversation_id: conv, content: `m${i}` })));
    await wb.event('receiveMessage', (d) => d.id === sent.at(-1)!.data.id);
    await wa.request('teleport', {});
    const rest = await Promise.all(Array.from({ length: 8 }, (_, i) => server.http.post(`/conversations/${conv}/messages`, { content: `r${i}` }, a.token)));
    expect(rest.filter((r) => r.status === 429).length).toBe(3);
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    expect(value(text, 'chat_connections', { protocol: 'ws' })).toBe(2);
    expect(value(text, 'chat_events_total', { event: 'sendMessage', code: 'ok' })).toBe(40);
    expect(value(text, 'chat_events_total', { event: 'other', code: 'UNKNOWN_EVENT' })).toBe(1);
    expect(value(text, 'chat_http_requests_total', { route: '/conversations/:id/messages', method: 'POST', status: '201' })).toBe(5);
    expect(value(text, 'chat_http_requests_total', { route: '/conversations/:id/messages', method: 'POST', status: '429' })).toBe(3);
    expect(value(text, 'chat_rate_limited_total', { limit: 'restSend' })).toBe(3);
    expect(value(text, 'chat_messages_acknowledged_total')).toBe(45);
    expect(value(text, 'chat_write_batch_size_count')).toBeGreaterThan(0);
    expect(value(text, 'chat_write_batch_size_sum')).toBe(45);
    expect(value(text, 'chat_write_commit_seconds_count')).toBe(value(text, 'chat_write_batch_size_count'));
    expect(value(text, 'chat_fanout_lag_seconds_count')).toBeGreaterThanOrEqual(45);
    expect(value(text, 'chat_fanout_listening')).toBe(1);
    expect(value(text, 'chat_fanout_outages_total')).toBe(0);
    // Durations: every answered event and request is timed, under its event name or route pattern.
    const ok = { event: 'sendMessage', code: 'ok' };
    expect(value(before, 'chat_event_duration_seconds_count', ok)).toBe(0);
    expect(value(text, 'chat_event_duration_seconds_count', ok)).toBe(40);
    expect(value(text, 'chat_event_duration_seconds_bucket', { ...ok, le: '+Inf' })).toBe(40);
    expect(value(text, 'chat_event_duration_seconds_sum', ok)).toBeGreaterThan(value(before, 'chat_event_duration_seconds_sum', ok));
    expect(value(text, 'chat_event_duration_seconds_bucket', { ...ok, le: '10' })).toBe(40);
    expect(value(text, 'chat_event_duration_seconds_count', { event: 'other', code: 'UNKNOWN_EVENT' })).toBe(1);
    const created = { route: '/conversations/:id/messages', method: 'POST', status: '201' };
    expect(value(text, 'chat_http_request_duration_seconds_count', created)).toBe(5);
    expect(value(text, 'chat_http_request_duration_seconds_sum', created)).toBeGreaterThan(0);
    expect(value(text, 'chat_http_request_duration_seconds_count', { ...created, status: '429' })).toBe(3);
    // Standard names, as stock dashboards and alerts expect them.
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(text).toMatch(new RegExp(`^${name} `, 'm'));
    }
    expect(text).not.toMatch(/^chat_(process|nodejs)_/m);
    expect(text).toContain('chat_slow_consumer_closes_total');
    expect(text).toContain('chat_upgrades_refused_total');
  });

  it('labels event series with exactly the protocol’s events (and other), each from start-up', async () => {
    const text = await scrape();
    const events = [...Object.keys(CHAT_EVENTS), 'other'].sort();
    expect(labelValues(text, 'chat_event_duration_seconds_count', 'event')).toEqual(events);
    expect(labelValues(text, 'chat_events_total', 'event')).toEqual(events);
  });

  it('has every series the Grafana dashboard queries', async () => {
    const dashboard = JSON.parse(readFileSync(new URL('../../docs/grafana-dashboard.json', import.meta.url), 'utf8')) as {
      panels: Array<{ targets?: Array<{ expr: string }> }>;
    };
    const queried = dashboard.panels.flatMap((p) => (p.targets ?? []).flatMap((t) => t.expr.match(/\b(chat|process|nodejs)_[a-z0-9_]+/g) ?? []));
    expect(queried.length).toBeGreaterThan(10);
    const text = await scrape();
    // Declared (# TYPE) whether or not a series has a value yet; a histogram is declared under its base name.
    const declared = new Set(
      [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap((m) => (m[2] === 'histogram' ? [`${m[1]}_bucket`, `${m[1]}_sum`, `${m[1]}_count`] : [m[1]!])),
    );
    const missing = [...new Set(queried)].filter((name) => !declared.has(name));
    expect(missing).toEqual([]);
  });
});
