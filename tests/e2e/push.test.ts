import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { HttpClient } from '../support/http-client.js';
import { PushEndpoint, type TestSubscription } from '../support/push-endpoint.js';
import { PROCESS_TEST_ENV, startProcess, type ServerProcess } from '../support/server-process.js';
import { WsClient } from '../support/ws-client.js';

type U = { id: number; token: string; username: string };
const METRICS = 'push-test-metrics-token';

let push: PushEndpoint;
let server: ServerProcess;
let http: HttpClient;
let db: pg.Client;
let dataDir: string;
const sockets: WsClient[] = [];

beforeAll(async () => {
  push = await PushEndpoint.start();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'chat-push-'));
  const databaseUrl = await freshDatabase('push');
  server = await startProcess({
    ...PROCESS_TEST_ENV,
    DATABASE_URL: databaseUrl,
    DATA_DIR: dataDir,
    OUTBOUND_ALLOW_PRIVATE: 'true',
    PUSH_ALLOWED_HOSTS: '127.0.0.1,push.example.com',
    PUSH_MAX_SUBSCRIPTIONS: '3',
    PUSH_COALESCE_MS: '1500',
    METRICS_TOKEN: METRICS,
  });
  http = new HttpClient(`http://127.0.0.1:${server.port}`);
  db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const me = await http.register();
  const key = await http.get('/push/vapid-public-key', me.token);
  expect(key.status).toBe(200);
  push.vapidKey = key.body.public_key;
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.socket.terminate();
  await db?.end();
  if (server) {
    server.child.kill('SIGTERM');
    await server.exited;
  }
  await push?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const subscribe = async (u: U, s: TestSubscription) => {
  const res = await http.post('/push/subscriptions', PushEndpoint.json(s), u.token);
  expect(res.status).toBe(201);
};
const group = async (creator: U, others: U[]) => {
  const res = await http.post('/conversations', { participant_ids: others.map((o) => o.id), title: 'push' }, creator.token);
  expect(res.status).toBe(201);
  return res.body.id as number;
};
const send = async (u: U, conversationId: number, content: string) => {
  const res = await http.post(`/conversations/${conversationId}/messages`, { content }, u.token);
  expect(res.status).toBe(201);
  return res.body.id as number;
};
/** Connects the user and waits until the cluster counts them online. */
const online = async (u: U, conversationId: number) => {
  sockets.push(await WsClient.connect(`ws://127.0.0.1:${server.port}/ws`, u.token));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = await http.get(`/conversations/${conversationId}/participants`, u.token);
    if (res.body.participants.find((p: { id: number; online: boolean }) => p.id === u.id)?.online) return;
    if (Date.now() > deadline) throw new Error('never shown online');
    await new Promise((r) => setTimeout(r, 50));
  }
};
/** `chat_pushes_total{outcome}` as the server counts it. */
const pushes = async (outcome: string) => {
  const res = await http.request('GET', '/metrics', { headers: { authorization: `Bearer ${METRICS}` } });
  return Number(new RegExp(`^chat_pushes_total\\{outcome="${outcome}"[^}]*\\} (\\d+)$`, 'm').exec(String(res.body))?.[1] ?? NaN);
};
const unreadRows = async (messageId: number) =>
  (
    await db.query<{ data: { message_id: number; user_ids: number[] } }>(
      `SELECT data FROM conversation_events WHERE type = 'message.unread' AND (data->>'message_id')::bigint = $1`,
      [messageId],
    )
  ).rows.map((r) => r.data);

describe('Web Push to offline users', () => {
  it('pushes only while the session that subscribed lasts: a device whose session was revoked gets nothing, the user’s other device still does', async () => {
    const [alice, bob] = [await http.register(), await http.register()];
    const otherDevice = (await http.post('/auth/login', { username: bob.username, password: 'correct horse' })).body.token as string;
    const [lostPhone, laptop] = [push.subscribe(), push.subscribe()];
    await subscribe(bob, lostPhone);
    await subscribe({ ...bob, token: otherDevice }, laptop);
    // The phone is lost: its session is ended (from the phone's token here; revoking it from the laptop is the same).
    expect((await http.post('/auth/logout', {}, bob.token)).status).toBe(200);
    const conversationId = await group(alice, [bob]);
    const sent = await send(alice, conversationId, 'after the phone was lost');
    await push.waitFor((p) => p.subscriptionId === laptop.id && p.payload.message_id === sent);
    expect(push.of(lostPhone)).toEqual([]);
    expect(push.requests.filter((r) => r.subscriptionId === lostPhone.id)).toEqual([]);
  });

  it('pushes an offline recipient one VAPID-signed push that decrypts to ids, count and sender (no content); a connected recipient gets no push and is in no message.unread row', async () => {
    const [alice, bob, carol] = [await http.register(), await http.register(), await http.register()];
    const [bobsPhone, carolsPhone] = [push.subscribe(), push.subscribe()];
    await subscribe(bob, bobsPhone);
    await subscribe(carol, carolsPhone);
    const conversationId = await group(alice, [bob, carol]);
    await online(carol, conversationId);

    const first = await send(alice, conversationId, 'secret words');
    const got = await push.waitFor((p) => p.subscriptionId === bobsPhone.id && p.payload.message_id === first);
    expect(got.payload).toEqual({ conversation_id: conversationId, message_id: first, count: 1, sender: alice.username });
    expect(got.headers.topic).toBe(`c${conversationId}`);
    expect(got.headers.urgency).toBe('normal');
    expect(Number(got.headers.ttl)).toBeGreaterThan(0);
    expect(got.claims.aud).toBe(push.origin);
    expect(await unreadRows(first)).toEqual([{ message_id: first, user_ids: [bob.id] }]);

    // A second window for Bob opens after the first closed: Carol's push for the first message, had there been one, came before it.
    const second = await send(alice, conversationId, 'more');
    await push.waitFor((p) => p.subscriptionId === bobsPhone.id && p.payload.message_id === second);
    expect(push.of(carolsPhone)).toEqual([]);
    expect(push.requests.filter((r) => r.subscriptionId === carolsPhone.id)).toEqual([]);
    expect(push.problems).toEqual([]);
  });

  it('coalesces a burst of 20 messages into exactly one push per subscription, naming the latest and counting 20', async () => {
    const [alice, bob] = [await http.register(), await http.register()];
    const phones = [push.subscribe(), push.subscribe()];
    for (const phone of phones) await subscribe(bob, phone);
    const conversationId = await group(alice, [bob]);
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => send(alice, conversationId, `burst ${i}`)));
    const latest = Math.max(...ids);
    for (const phone of phones) {
      const got = await push.waitFor((p) => p.subscriptionId === phone.id);
      expect(got.payload).toEqual({ conversation_id: conversationId, message_id: latest, count: 20, sender: alice.username });
    }
    // The next message opens a new window: its push is the next one each phone gets, after nothing else.
    const after = await send(alice, conversationId, 'later');
    for (const phone of phones) {
      await push.waitFor((p) => p.subscriptionId === phone.id && p.payload.message_id === after);
      expect(push.of(phone).map((p) => [p.payload.message_id, p.payload.count])).toEqual([
        [latest, 20],
        [after, 1],
      ]);
    }
    expect(push.problems).toEqual([]);
  });

  it('sends nothing for a muted conversation (no push, no message.unread notice) while an unmuted one pushes; unmuting pushes again', async () => {
    const [alice, bob, eve] = [await http.register(), await http.register(), await http.register()];
    const phone = push.subscribe();
    await subscribe(bob, phone);
    const muted = await group(alice, [bob]);
    const loud = await group(alice, [bob]);
    expect((await http.request('PUT', `/conversations/${muted}/mute`, { token: bob.token })).body).toEqual({ conversation_id: muted, muted: true });
    expect((await http.request('PUT', `/conversations/${muted}/mute`, { token: eve.token })).body.error.code).toBe('CONVERSATION_NOT_FOUND');

    const quiet = await send(alice, muted, 'shh');
    const heard = await send(alice, loud, 'hello');
    await push.waitFor((p) => p.subscriptionId === phone.id && p.payload.message_id === heard);
    expect(push.of(phone).map((p) => p.payload.conversation_id)).toEqual([loud]);
    // The later message's push means the notifier passed the muted one: it recorded no notice for it.
    expect(await unreadRows(quiet)).toEqual([]);
    expect(await unreadRows(heard)).toEqual([{ message_id: heard, user_ids: [bob.id] }]);

    expect((await http.del(`/conversations/${muted}/mute`, bob.token)).body).toEqual({ conversation_id: muted, muted: false });
    const again = await send(alice, muted, 'now you hear me');
    await push.waitFor((p) => p.subscriptionId === phone.id && p.payload.message_id === again);
    expect(push.problems).toEqual([]);
  });

  it('sends nothing to a recipient who connects while the window is open (counted as suppressed)', async () => {
    const [alice, bob] = [await http.register(), await http.register()];
    const phone = push.subscribe();
    await subscribe(bob, phone);
    const conversationId = await group(alice, [bob]);
    const suppressed = await pushes('suppressed');
    const id = await send(alice, conversationId, 'are you there?');
    // The notice is recorded just before the window opens: Bob was offline then.
    const deadline = Date.now() + 5_000;
    while ((await unreadRows(id)).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await unreadRows(id)).toEqual([{ message_id: id, user_ids: [bob.id] }]);
    await online(bob, conversationId);
    const until = Date.now() + 10_000;
    while ((await pushes('suppressed')) === suppressed && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(await pushes('suppressed')).toBe(suppressed + 1);
    expect(push.of(phone)).toEqual([]);
  });

  it('removes a subscription whose push service answers 410', async () => {
    const [alice, bob] = [await http.register(), await http.register()];
    const gone = push.subscribe(410);
    await subscribe(bob, gone);
    const conversationId = await group(alice, [bob]);
    await send(alice, conversationId, 'anyone there?');
    await eventually(() => push.requests.some((r) => r.subscriptionId === gone.id));
    const rows = async () => (await db.query('SELECT 1 FROM push_subscriptions WHERE endpoint = $1', [gone.endpoint])).rowCount;
    const deadline = Date.now() + 10_000;
    while ((await rows()) !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await rows()).toBe(0);
    const res = await http.request('DELETE', '/push/subscriptions', { token: bob.token, body: { endpoint: gone.endpoint } });
    expect([res.status, res.body.error.code]).toEqual([404, 'SUBSCRIPTION_NOT_FOUND']);
  });
});

describe('push subscriptions over REST', () => {
  it('refuses malformed subscriptions with 400 VALIDATION_FAILED, naming the field', async () => {
    const u = await http.register();
    const good = PushEndpoint.json(push.subscribe());
    const p256dh = (bytes: Buffer) => ({ ...good, keys: { ...good.keys, p256dh: bytes.toString('base64url') } });
    const cases: Array<[string, unknown]> = [
      ['keys', { endpoint: good.endpoint }],
      ['endpoint', { keys: good.keys }],
      ['endpoint', { ...good, endpoint: 'not a url' }],
      ['endpoint', { ...good, endpoint: `${good.endpoint}/${'x'.repeat(3000)}` }],
      ['endpoint', { ...good, endpoint: 'ftp://127.0.0.1/push/1' }],
      ['endpoint', { ...good, endpoint: 'https://user:password@push.example.com/1' }],
      ['keys.p256dh', p256dh(Buffer.alloc(64, 4))],
      ['keys.p256dh', p256dh(Buffer.concat([Buffer.from([5]), Buffer.alloc(64, 1)]))],
      ['keys.p256dh', { ...good, keys: { ...good.keys, p256dh: `${good.keys.p256dh.slice(0, -2)}+/` } }],
      ['keys.auth', { ...good, keys: { ...good.keys, auth: Buffer.alloc(15, 1).toString('base64url') } }],
      ['keys.auth', { ...good, keys: { ...good.keys, auth: 42 } }],
      ['expirationTime', { ...good, expirationTime: 'tomorrow' }],
    ];
    for (const [field, body] of cases) {
      const res = await http.post('/push/subscriptions', body, u.token);
      expect([res.status, res.body.error?.code, res.body.error?.message]).toEqual([400, 'VALIDATION_FAILED', expect.stringContaining(field)]);
    }
    expect((await http.post('/push/subscriptions', good, u.token)).status).toBe(201);
  });

  it('keeps each user’s newest PUSH_MAX_SUBSCRIPTIONS (3), moves an endpoint to whoever registers it, and deletes only the caller’s', async () => {
    const [dave, eve] = [await http.register(), await http.register()];
    const subs = [push.subscribe(), push.subscribe(), push.subscribe(), push.subscribe()];
    for (const s of subs) await subscribe(dave, s);
    const remove = async (u: U, s: TestSubscription) =>
      (await http.request('DELETE', '/push/subscriptions', { token: u.token, body: { endpoint: s.endpoint } })).status;
    const mine = async (u: U) => (await db.query<{ endpoint: string }>('SELECT endpoint FROM push_subscriptions WHERE user_id = $1 ORDER BY id', [u.id])).rows;
    expect((await mine(dave)).map((r) => r.endpoint)).toEqual(subs.slice(1).map((s) => s.endpoint));

    await subscribe(eve, subs[3]!);
    expect(await remove(dave, subs[3]!)).toBe(404);
    expect(await remove(eve, subs[2]!)).toBe(404);
    expect(await remove(dave, subs[0]!)).toBe(404);
    expect(await remove(dave, subs[2]!)).toBe(204);
    expect(await remove(eve, subs[3]!)).toBe(204);
    expect((await mine(dave)).map((r) => r.endpoint)).toEqual([subs[1]!.endpoint]);
  });
});

describe('push endpoints without OUTBOUND_ALLOW_PRIVATE, and on the default PUSH_ALLOWED_HOSTS', () => {
  it('refuses http, private-address and other hosts than the browsers’ push services with 400 VALIDATION_FAILED, and accepts a push service’s https one', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'chat-push-'));
    const strict = await startProcess({ ...PROCESS_TEST_ENV, DATABASE_URL: await freshDatabase('push'), DATA_DIR: dir }).catch((error: unknown) => {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    });
    try {
      const client = new HttpClient(`http://127.0.0.1:${strict.port}`);
      const u = await client.register();
      const keys = PushEndpoint.json(push.subscribe()).keys;
      for (const endpoint of [
        'http://fcm.googleapis.com/fcm/send/1',
        'https://127.0.0.1/push/1',
        'https://[::1]/push/1',
        'https://10.1.2.3/push/1',
        'https://push.example.com/1',
        'https://fcm.googleapis.com.example.com/1',
      ]) {
        const res = await client.post('/push/subscriptions', { endpoint, keys }, u.token);
        expect([endpoint, res.status, res.body.error?.code, res.body.error?.message]).toEqual([
          endpoint,
          400,
          'VALIDATION_FAILED',
          expect.stringContaining('endpoint'),
        ]);
      }
      expect((await client.post('/push/subscriptions', { endpoint: 'https://fcm.googleapis.com/fcm/send/abc', keys }, u.token)).status).toBe(201);
      expect((await client.post('/push/subscriptions', { endpoint: 'https://updates.push.services.mozilla.com/wpush/v2/abc', keys }, u.token)).status).toBe(
        201,
      );
      // Removing one is input too: an endpoint PostgreSQL cannot store is refused, not a server error.
      const nul = await client.request('DELETE', '/push/subscriptions', { token: u.token, body: { endpoint: 'https://fcm.googleapis.com/fcm/send/\u0000' } });
      expect([nul.status, nul.body.error?.code]).toEqual([400, 'VALIDATION_FAILED']);
    } finally {
      strict.child.kill('SIGTERM');
      await strict.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the offline notifier in a cluster', () => {
  it('runs in one process; when that one is killed, another takes over and the pushes keep coming', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'chat-push-'));
    const env = {
      ...PROCESS_TEST_ENV,
      DATABASE_URL: await freshDatabase('push'),
      DATA_DIR: dir,
      OUTBOUND_ALLOW_PRIVATE: 'true',
      PUSH_ALLOWED_HOSTS: '127.0.0.1',
      PUSH_COALESCE_MS: '200',
    };
    const procs: ServerProcess[] = [];
    const mainKey = push.vapidKey;
    try {
      procs.push(await startProcess(env));
      const [first] = procs;
      await first!.waitFor('stream consumer: leading');
      procs.push(await startProcess(env));
      const second = procs[1]!;
      const client = new HttpClient(`http://127.0.0.1:${second.port}`);
      const [alice, bob] = [await client.register(), await client.register()];
      // Both processes sign with the pair the first one generated under their shared DATA_DIR.
      push.vapidKey = (await client.get('/push/vapid-public-key', bob.token)).body.public_key;
      const phone = push.subscribe();
      expect((await client.post('/push/subscriptions', PushEndpoint.json(phone), bob.token)).status).toBe(201);
      const conversationId = (await client.post('/conversations', { participant_ids: [bob.id], title: 'ha' }, alice.token)).body.id as number;
      const before = (await client.post(`/conversations/${conversationId}/messages`, { content: 'one' }, alice.token)).body.id as number;
      await push.waitFor((p) => p.subscriptionId === phone.id && p.payload.message_id === before);
      expect(second.output()).not.toContain('stream consumer: leading');

      first!.child.kill('SIGKILL');
      await first!.exited;
      const after = (await client.post(`/conversations/${conversationId}/messages`, { content: 'two' }, alice.token)).body.id as number;
      await push.waitFor((p) => p.subscriptionId === phone.id && p.payload.message_id === after);
      expect(second.output()).toContain('stream consumer: leading');
      expect(push.of(phone).map((p) => p.payload.message_id)).toEqual([before, after]);
    } finally {
      push.vapidKey = mainKey;
      for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await Promise.all(procs.map((p) => p.exited));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
