import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { sleep, WsClient } from '../support/ws-client.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ RATE_LIMITS: 'on', RATE_LIMIT_PER_SECOND: '5', RATE_LIMIT_BURST: '5', WS_MAX_BACKPRESSURE_BYTES: '65536' });
});
afterAll(() => server?.stop());

describe('overload', () => {
  it('answers a flood with RATE_LIMITED past the burst, keeps the connection, and refills over time', async () => {
    const [alice, bob] = [await server.http.register(), await server.http.register()];
    const conv = (await server.http.post('/conversations', { participant_ids: [bob.id] }, alice.token)).body;
    const ws = await WsClient.connect(server.wsUrl, alice.token);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => ws.request('sendMessage', { conversation_id: conv.id, content: `flood ${i}` })));
    const limited = answers.filter((a) => a.error?.code === 'RATE_LIMITED').length;
    expect(answers.filter((a) => a.event === 'ack').length).toBe(5);
    expect(limited).toBe(15);
    await sleep(450); // about two tokens at 5/s
    expect((await ws.request('sendMessage', { conversation_id: conv.id, content: 'after a pause' })).event).toBe('ack');
    const stored = await server.http.get(`/conversations/${conv.id}/messages?limit=100`, bob.token);
    expect(stored.body.messages).toHaveLength(6);
  });

  it('disconnects a consumer that stops reading with 4008 once it is too far behind, and keeps serving the rest', async () => {
    const server = await startTestServer({ RATE_LIMIT_PER_SECOND: '0', WS_MAX_BACKPRESSURE_BYTES: '262144' });
    const [alice, bob, carol] = [await server.http.register(), await server.http.register(), await server.http.register()];
    const conv = (await server.http.post('/conversations', { participant_ids: [bob.id, carol.id], title: 'firehose' }, alice.token)).body;
    const slow = await WsClient.connect(server.wsUrl, bob.token);
    const healthy = await WsClient.connect(server.wsUrl, carol.token);
    (slow.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const big = 'z'.repeat(9_000);
    // Sent over REST, so the only WebSocket readers are the slow one and the healthy one.
    // Enough to fill the kernel's socket buffers and then the server's allowance; bounded in count.
    for (let round = 0; round < 200 && slow.socket.readyState === slow.socket.OPEN; round++) {
      await Promise.all(
        Array.from({ length: 8 }, (_, i) => server.http.post(`/conversations/${conv.id}/messages`, { content: `${round}.${i} ${big}` }, alice.token)),
      );
      if (server.gateway.registry.connectionCount < 2) break;
    }
    (slow.socket as unknown as { _socket: { resume(): void } })._socket.resume();
    expect((await slow.closed).code).toBe(4008);
    expect(healthy.socket.readyState).toBe(healthy.socket.OPEN);
    const last = await server.http.post(`/conversations/${conv.id}/messages`, { content: 'still delivering' }, alice.token);
    await healthy.event('receiveMessage', (d) => d.id === last.body.id, 15_000);
    healthy.socket.terminate();
    await server.stop();
  }, 60_000);
});
