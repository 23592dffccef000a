import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { killAll, startServerProcess } from '../support/server-process.js';
import { testTransport } from '../support/transport.js';
import { connectSocketIo, emitWithAnswer } from '../support/socket-io-client.js';
import { WsClient } from '../support/ws-client.js';

type Server = Awaited<ReturnType<typeof startServerProcess>>;
let server: Server;
const clients: WsClient[] = [];

beforeAll(async () => {
  // Room for the whole burst at once (beyond it, upgrades are refused with 503 by design).
  server = await startServerProcess({ UPGRADE_MAX_IN_FLIGHT: '1000' });
}, 60_000);
afterAll(async () => {
  for (const c of clients) c.socket.terminate();
  await server?.stop();
  killAll();
});

const UPGRADES = 300;

describe('the log stream', () => {
  it(`stays JSON, line by line, through a burst of ${UPGRADES} upgrades, every one of which opens and is answered; native warnings arrive as JSON`, async () => {
    const users = await Promise.all(Array.from({ length: 10 }, () => server.http.register()));
    const conv = (await server.http.post('/conversations', { participant_ids: users.slice(1).map((u) => u.id), title: 'burst' }, users[0]!.token)).body;
    // All at once, so upgrades are still being checked when others complete.
    const opened = await Promise.all(Array.from({ length: UPGRADES }, (_, i) => WsClient.connect(server.wsUrl, users[i % users.length]!.token)));
    clients.push(...opened);
    // Every socket is usable: none was closed at open.
    const answers = await Promise.all(opened.map((c) => c.request('typing', { conversation_id: conv.id, is_typing: false })));
    expect(answers.filter((a) => a.event !== 'ack')).toEqual([]);
    const legacy = await connectSocketIo(`http://127.0.0.1:${server.port}`, users[0]!.token);
    try {
      expect((await emitWithAnswer(legacy, 'typing', { conversation_id: conv.id, is_typing: false })).success).toBe(true);
    } finally {
      legacy.disconnect();
    }
    // A request after the burst, whose access log line is the last thing to wait for.
    const marker = await fetch(`http://127.0.0.1:${server.port}/healthz`, { headers: { 'x-request-id': 'after-the-burst' } });
    expect(marker.status).toBe(200);
    await server.process.waitFor(/"reqId":"after-the-burst"[^\n]*"msg":"request completed"/);
    // uWebSockets.js's npm build warns natively, on stderr, once per upgrade: each one reaches the log, as JSON (repeats folded).
    const relayed = () =>
      server.process
        .output()
        .split('\n')
        .filter((l) => l.includes('"source":"stderr"') && l.includes('corked callback'))
        .reduce((n, l) => n + ((JSON.parse(l) as { repeated?: number }).repeated ?? 1), 0);
    const warnings = testTransport() === 'uws' ? UPGRADES : 0;
    await eventually(() => relayed() >= warnings, 10_000);
    expect(relayed()).toBe(warnings);
    const lines = server.process
      .output()
      .split('\n')
      .filter((l) => l !== '');
    const notJson = lines.filter((l) => {
      try {
        return typeof JSON.parse(l) !== 'object';
      } catch {
        return true;
      }
    });
    expect(notJson).toEqual([]);
    expect(lines.length).toBeGreaterThan(2);
  }, 60_000);
});
