import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
    expect(text).toContain('chat_process_resident_memory_bytes');
    expect(text).toContain('chat_slow_consumer_closes_total');
    expect(text).toContain('chat_upgrades_refused_total');
  });
});
