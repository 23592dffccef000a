import { afterAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/database.js';
import { HttpClient } from '../support/http-client.js';
import { startNats, startRedis, stopBrokerServers } from '../support/brokers.js';
import { freePort, killAll, PROCESS_TEST_ENV, startProcess } from '../support/server-process.js';
import { WsClient } from '../support/ws-client.js';

const SECRET = 'Bq7mXv2LrT9sKd4PzW8nHc3YfJ6gA1eQuR5oNiE0tMlVwZy';
const PASSWORD = 'pw-9f3a7c1e-never-logged';
const clients: WsClient[] = [];

afterAll(async () => {
  for (const c of clients) c.socket.terminate();
  killAll();
  await stopBrokerServers();
});

const BROKERS = [
  { name: 'nats', variable: 'NATS_URL', scheme: 'nats', start: (port: number) => startNats({ port, user: 'chat', password: PASSWORD }) },
  { name: 'redis', variable: 'REDIS_URL', scheme: 'redis', start: (port: number) => startRedis({ port, user: 'chat', password: PASSWORD }) },
] as const;

// Broker behaviour, not transport behaviour: once per Node.js, on its first transport.
describe.skipIf(!process.env.TEST_FIRST_TRANSPORT).each(BROKERS)('a server whose broker ($name) is not there yet', (broker) => {
  it('starts and stays unready (broker URL shown without its password) until the broker comes, then serves messages; the password is never logged', async () => {
    const port = await freePort();
    const p = await startProcess({
      ...PROCESS_TEST_ENV,
      DATABASE_URL: await freshDatabase(`startup_${broker.name}`),
      JWT_SECRET: SECRET,
      FANOUT: broker.name,
      [broker.variable]: `${broker.scheme}://chat:${PASSWORD}@127.0.0.1:${port}`,
    });
    const http = new HttpClient(`http://127.0.0.1:${p.port}`);
    expect((await http.get('/healthz')).status).toBe(200);
    const waiting = await http.get('/readyz');
    expect(waiting.status).toBe(503);
    expect(waiting.body.fanout).toMatchObject({ state: 'starting', broker: { broker: broker.name, url: expect.stringContaining('***') } });
    expect(['connecting', 'down']).toContain(waiting.body.fanout.broker.state);
    expect(JSON.stringify(waiting.body)).not.toContain(PASSWORD);

    await broker.start(port);
    let ready = waiting;
    for (let i = 0; i < 300 && ready.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      ready = await http.get('/readyz');
    }
    expect(ready.status).toBe(200);
    expect(ready.body.fanout).toMatchObject({ state: 'live', broker: { broker: broker.name, state: 'up' } });

    const [alice, bob] = [await http.register(), await http.register()];
    const conv = (await http.post('/conversations', { participant_ids: [bob.id] }, alice.token)).body;
    const [a, b] = [await WsClient.connect(`ws://127.0.0.1:${p.port}/ws`, alice.token), await WsClient.connect(`ws://127.0.0.1:${p.port}/ws`, bob.token)];
    clients.push(a, b);
    const sent = await a.request('sendMessage', { conversation_id: conv.id, content: 'after the broker came' });
    expect((await b.event('receiveMessage', (d) => d.id === sent.data.id)).data.content).toBe('after the broker came');
    expect(p.output()).not.toContain(PASSWORD);
  });
});
