import { createHmac, randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { HttpClient } from '../support/http-client.js';
import { killAll, PROCESS_TEST_ENV, startProcess, type ServerProcess } from '../support/server-process.js';
import { verifyStandardWebhook, WebhookReceiver } from '../support/webhook-receiver.js';

const secret = () => `whsec_${randomBytes(32).toString('base64')}`;
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});
afterAll(() => killAll());

async function receiver(key = secret()): Promise<WebhookReceiver> {
  const r = await new WebhookReceiver(key).start();
  cleanups.push(() => r.stop());
  return r;
}

async function server(env: Record<string, string>): Promise<ServerProcess> {
  const proc = await startProcess({ ...PROCESS_TEST_ENV, OUTBOUND_ALLOW_PRIVATE: 'true', WEBHOOK_POLL_MS: '50', ...env });
  cleanups.push(async () => {
    proc.child.kill('SIGTERM');
    await proc.exited;
  });
  return proc;
}

/** Staff-only routes are not in docs/openapi.json until it is regenerated: plain fetch, no conformance check. */
async function call(proc: ServerProcess, method: string, path: string, token: string | null, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${proc.port}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function makeStaff(databaseUrl: string, userId: number): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('UPDATE users SET is_staff = true WHERE id = $1', [userId]);
  } finally {
    await client.end();
  }
}

async function chat(proc: ServerProcess) {
  const http = new HttpClient(`http://127.0.0.1:${proc.port}`);
  const alice = await http.register();
  const bob = await http.register();
  const direct = (await http.post('/conversations', { participant_ids: [bob.id] }, alice.token)).body.id as number;
  const group = (await http.post('/conversations', { participant_ids: [bob.id], title: 'group' }, alice.token)).body.id as number;
  return { http, alice, bob, direct, group };
}

/** Polls an async check until it gives a value. */
async function until<T>(check: () => Promise<T | null>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const sendOver = async (http: HttpClient, token: string, conversation: number, content: string): Promise<number> => {
  const res = await http.post(`/conversations/${conversation}/messages`, { content }, token);
  expect(res.status).toBe(201);
  return res.body.id as number;
};

describe('webhooks to the endpoint of WEBHOOK_URL', () => {
  it('deliver every message once per webhook-id, in order per conversation, with valid signatures, through failures, timeouts, garbage, a 302 and a SIGKILL', async () => {
    const hook = await receiver();
    const databaseUrl = await freshDatabase('webhooks');
    const env = {
      DATABASE_URL: databaseUrl,
      WEBHOOK_URL: hook.url,
      WEBHOOK_SECRET: hook.secret,
      WEBHOOK_TIMEOUT_MS: '300',
      WEBHOOK_RETRY_BASE_MS: '20',
      WEBHOOK_RETRY_MAX_MS: '200',
      METRICS_TOKEN: 'webhook-metrics-token',
    };
    let proc = await server(env);
    const { alice, direct, group } = await chat(proc);
    let http = new HttpClient(`http://127.0.0.1:${proc.port}`);
    const sent: Record<number, number[]> = { [direct]: [], [group]: [] };
    const sendRound = async (round: string) => {
      for (let i = 0; i < 5; i++) for (const c of [direct, group]) sent[c]!.push(await sendOver(http, alice.token, c, `${round} ${i}`));
    };

    await sendRound('healthy');
    hook.next('fail', 'hang', 'garbage', 'redirect', 'fail');
    await sendRound('troubled');
    await eventually(() => hook.refusedBy.redirect === 1 && hook.refusedBy.garbage === 1 && hook.refusedBy.hang === 1);

    // Killed while an event is unacknowledged: the endpoint answers 500 until the restart.
    hook.mode = 'fail';
    const failuresBefore = hook.refusedBy.fail;
    await sendRound('before the kill');
    await eventually(() => hook.refusedBy.fail > failuresBefore + 1);
    proc.child.kill('SIGKILL');
    await proc.exited;
    hook.mode = 'ok';
    proc = await server(env);
    http = new HttpClient(`http://127.0.0.1:${proc.port}`);
    await sendRound('after the restart');

    const expected = [...sent[direct]!, ...sent[group]!].map((id) => `evt_${id}`).sort();
    const created = () => hook.unique().filter((w) => w.type === 'message.created');
    await eventually(() => created().length >= expected.length, 30_000);
    expect(
      created()
        .map((w) => w.id)
        .sort(),
    ).toEqual(expected);
    for (const w of created()) expect(w.id).toBe(`evt_${w.data.id}`);
    for (const c of [direct, group]) {
      expect(
        created()
          .filter((w) => w.data.conversation_id === c)
          .map((w) => w.data.id),
      ).toEqual(sent[c]);
    }
    expect(hook.rejected).toEqual([]);

    // The restarted process counted its attempts: the ones after the restart delivered, the kill's unacknowledged one retried first.
    const metrics = await (await fetch(`http://127.0.0.1:${proc.port}/metrics`, { headers: { authorization: 'Bearer webhook-metrics-token' } })).text();
    const count = (outcome: string) => Number(new RegExp(`^chat_webhook_deliveries_total\\{[^}]*outcome="${outcome}"[^}]*\\} (\\d+)`, 'm').exec(metrics)?.[1]);
    expect(count('delivered')).toBeGreaterThanOrEqual(10);
    expect(count('dead')).toBe(0);
  }, 90_000);
});

describe('the dispatcher across processes', () => {
  it('deliver every kind in stream order per conversation (edit, read marker, participants, deletion), and one message.unread per recipient without a connection', async () => {
    const hook = await receiver();
    const proc = await server({ DATABASE_URL: await freshDatabase('webhook_kinds'), WEBHOOK_URL: hook.url, WEBHOOK_SECRET: hook.secret });
    const { http, alice, bob, group } = await chat(proc);
    const carol = await http.register();
    const first = await sendOver(http, alice.token, group, 'first');
    const second = await sendOver(http, alice.token, group, 'second');
    // Deleted only once its creation went out: the stream no longer replays a deleted message's creation. And carol
    // joins only once the notices are out: recipients are the participants when the notifier reads the message.
    await eventually(() => hook.unique().some((w) => w.type === 'message.created' && w.data.id === second));
    await eventually(() => hook.unique().filter((w) => w.type === 'message.unread').length >= 2, 15_000);
    expect((await http.patch(`/messages/${first}`, { content: 'first, edited' }, alice.token)).status).toBe(200);
    expect((await http.post(`/conversations/${group}/read`, { message_id: second }, bob.token)).status).toBe(200);
    expect((await http.post(`/conversations/${group}/participants`, { user_id: carol.id }, alice.token)).status).toBe(200);
    expect((await http.del(`/conversations/${group}/participants/${carol.id}`, alice.token)).status).toBe(200);
    expect((await http.del(`/messages/${second}`, alice.token)).status).toBe(200);

    const ofGroup = () => hook.unique().filter((w) => w.type !== 'message.unread' && w.data.conversation_id === group);
    await eventually(() => ofGroup().some((w) => w.type === 'message.deleted'), 15_000);
    expect(ofGroup().map((w) => [w.type, w.data.id ?? w.data.message_id ?? w.data.user_id ?? w.data.user?.id])).toEqual([
      ['message.created', first],
      ['message.created', second],
      ['message.updated', first],
      ['conversation.read', second],
      ['participant.added', carol.id],
      ['participant.removed', carol.id],
      ['message.deleted', second],
    ]);
    expect(ofGroup().find((w) => w.type === 'message.updated')!.data.content).toBe('first, edited');
    // Bob had no connection: each of alice's messages tells the platform so, once, for bob alone.
    await eventually(() => hook.unique().filter((w) => w.type === 'message.unread').length >= 2, 15_000);
    const unread = hook.unique().filter((w) => w.type === 'message.unread');
    expect(unread.map((w) => [w.id, w.data.user_id, w.data.message.id])).toEqual([
      [expect.stringMatching(/^evt_\d+_/), bob.id, first],
      [expect.stringMatching(/^evt_\d+_/), bob.id, second],
    ]);
    expect(hook.rejected).toEqual([]);
  }, 60_000);

  it('runs in exactly one of two processes on one database, and the other takes over when the leader is SIGKILLed', async () => {
    const hook = await receiver();
    const env = { DATABASE_URL: await freshDatabase('webhooks_pair'), WEBHOOK_URL: hook.url, WEBHOOK_SECRET: hook.secret };
    const first = await server(env);
    await first.waitFor('webhook dispatcher: leading');
    const second = await server(env);
    const { http, alice, direct } = await chat(second);
    const before = await sendOver(http, alice.token, direct, 'while the first leads');
    await eventually(() => hook.unique().some((w) => w.id === `evt_${before}`));
    // The positive signal that the second process did not dispatch: it says so only once it leads, after the kill.
    expect(second.output()).not.toContain('webhook dispatcher: leading');
    first.child.kill('SIGKILL');
    await first.exited;
    await second.waitFor('webhook dispatcher: leading');
    const after = await sendOver(http, alice.token, direct, 'after the takeover');
    await eventually(() => hook.unique().some((w) => w.id === `evt_${after}`));
    expect(hook.unique().map((w) => w.id)).toEqual([`evt_${before}`, `evt_${after}`]);
  }, 60_000);
});

describe('staff’s webhook endpoints', () => {
  let proc: ServerProcess;
  let staffToken: string;
  let userToken: string;
  let http: HttpClient;
  let conversation: number;
  const shared: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    const databaseUrl = await freshDatabase('webhooks_staff');
    // A long attempt deadline, so a hanging endpoint hangs for the whole test; failures are dead-lettered after about a second.
    proc = await startProcess({
      ...PROCESS_TEST_ENV,
      DATABASE_URL: databaseUrl,
      OUTBOUND_ALLOW_PRIVATE: 'true',
      WEBHOOK_POLL_MS: '50',
      WEBHOOK_TIMEOUT_MS: '60000',
      WEBHOOK_RETRY_BASE_MS: '20',
      WEBHOOK_RETRY_MAX_MS: '100',
      WEBHOOK_RETRY_HOURS: '0.0003',
      WEBHOOK_MAX_ENDPOINTS: '3',
    });
    shared.push(async () => {
      proc.child.kill('SIGTERM');
      await proc.exited;
    });
    const c = await chat(proc);
    http = c.http;
    conversation = c.direct;
    userToken = c.alice.token;
    await makeStaff(databaseUrl, c.bob.id);
    // The flag is read with the profile at sign-in: sign in again.
    const login = await http.post('/auth/login', { username: c.bob.username, password: 'correct horse' });
    staffToken = login.body.token;
  });
  afterAll(async () => {
    for (const c of shared.reverse()) await c().catch(() => undefined);
  });

  const create = (body: Record<string, unknown>, token = staffToken) => call(proc, 'POST', '/admin/webhooks', token, body);
  const remove = (id: number) => call(proc, 'DELETE', `/admin/webhooks/${id}`, staffToken);

  it('refuse anonymous callers (401), non-staff (404 NOT_FOUND, as if the routes did not exist), bad input (400 VALIDATION_FAILED), unknown ids (404 WEBHOOK_NOT_FOUND) and more than the cap (409)', async () => {
    expect(await call(proc, 'GET', '/admin/webhooks', null)).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
    expect(await call(proc, 'GET', '/admin/webhooks', userToken)).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    expect(await create({ url: 'https://example.com/hook' }, userToken)).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    for (const [body, says] of [
      [{ url: 'not a url' }, 'url: must be an absolute URL'],
      [{ url: 'ftp://example.com/hook' }, 'url: must be an http(s) URL'],
      [{ url: 'https://user:pw@example.com/hook' }, 'url: must not carry credentials'],
      [{ url: 'https://example.com/hook', event_types: ['message.exploded'] }, 'event_types.0'],
      [{ url: 'https://example.com/hook', event_types: [] }, 'event_types'],
      [{ url: 'https://example.com/hook', secret: 'whsec_c2hvcnQ=' }, 'secret: must carry 24 to 64 bytes'],
      [{ url: 'https://example.com/hook', surprise: true }, 'surprise'],
    ] as const) {
      const res = await create(body);
      expect(res, JSON.stringify(body)).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
      expect(res.body.error.message).toContain(says);
    }
    for (const [method, path, body] of [
      ['GET', '/admin/webhooks/999', undefined],
      ['DELETE', '/admin/webhooks/999', undefined],
      ['GET', '/admin/webhooks/999/deliveries', undefined],
      ['POST', '/admin/webhooks/999/replay', { since: 0 }],
    ] as const) {
      expect(await call(proc, method, path, staffToken, body)).toMatchObject({ status: 404, body: { error: { code: 'WEBHOOK_NOT_FOUND' } } });
    }
    expect(await call(proc, 'GET', '/admin/webhooks/abc', staffToken)).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
    expect(await call(proc, 'GET', '/admin/webhooks/1/deliveries?status=lost', staffToken)).toMatchObject({ status: 400 });

    const made: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await create({ url: `https://hooks.example.com/${i}`, description: `n${i}` });
      expect(res).toMatchObject({ status: 201, body: { secret: expect.stringMatching(/^whsec_/), event_types: expect.arrayContaining(['message.created']) } });
      made.push(res.body.id);
    }
    expect(await create({ url: 'https://hooks.example.com/4' })).toMatchObject({ status: 409, body: { error: { code: 'WEBHOOK_LIMIT_REACHED' } } });
    expect((await call(proc, 'GET', '/admin/webhooks', staffToken)).body.webhooks).toHaveLength(3);
    // The secret is shown at creation only.
    expect((await call(proc, 'GET', `/admin/webhooks/${made[0]}`, staffToken)).body).not.toHaveProperty('secret');
    for (const id of made) expect(await remove(id)).toMatchObject({ status: 200, body: { id } });
    expect((await call(proc, 'GET', '/admin/webhooks', staffToken)).body.webhooks).toEqual([]);
  });

  it('list a dead endpoint’s dead-lettered delivery with its status and error, move on past it, and deliver it again on replay', async () => {
    const hook = await receiver();
    hook.mode = 'fail';
    const endpoint = (await create({ url: hook.url, secret: hook.secret, event_types: ['message.created'] })).body;
    cleanups.push(() => remove(endpoint.id));
    const first = await sendOver(http, userToken, conversation, 'to a dead endpoint');
    const dead = await until(async () => {
      const listed = (await call(proc, 'GET', `/admin/webhooks/${endpoint.id}/deliveries?status=dead`, staffToken)).body.deliveries as any[];
      return listed.length > 0 ? listed : null;
    });
    expect(dead).toEqual([
      expect.objectContaining({
        webhook_id: `evt_${first}`,
        event_id: first,
        event_type: 'message.created',
        status: 'dead',
        response_status: 500,
        error: expect.stringContaining('receiver failing on purpose'),
      }),
    ]);
    expect(dead[0].attempts).toBeGreaterThan(1);

    hook.mode = 'ok';
    const second = await sendOver(http, userToken, conversation, 'after the dead one');
    await eventually(() => hook.unique().some((w) => w.id === `evt_${second}`));
    // It moved on: the dead event was not delivered.
    expect(hook.unique().map((w) => w.id)).toEqual([`evt_${second}`]);

    expect(await call(proc, 'POST', `/admin/webhooks/${endpoint.id}/replay`, staffToken, { since: endpoint.cursor })).toMatchObject({
      status: 200,
      body: { cursor: endpoint.cursor },
    });
    await eventually(() => hook.unique().some((w) => w.id === `evt_${first}`));
    expect(hook.unique().map((w) => w.id)).toEqual([`evt_${second}`, `evt_${first}`]);
    const listed = (await call(proc, 'GET', `/admin/webhooks/${endpoint.id}/deliveries`, staffToken)).body.deliveries;
    expect(listed).toEqual([expect.objectContaining({ webhook_id: `evt_${first}`, status: 'replayed' })]);
  });

  it('deliver a page’s other conversations while one conversation’s event is retried, holding that conversation’s later events behind it', async () => {
    const other = await http.register();
    const stuck = (await http.post('/conversations', { participant_ids: [other.id], title: 'stuck' }, userToken)).body.id as number;
    const s1 = await sendOver(http, userToken, stuck, 'stuck one');
    const s2 = await sendOver(http, userToken, stuck, 'stuck two');
    const f1 = await sendOver(http, userToken, conversation, 'flows');
    const hook = await receiver();
    hook.choose = (w) => (w.data.conversation_id === stuck ? 'fail' : null);
    const endpoint = (await create({ url: hook.url, secret: hook.secret, event_types: ['message.created'] })).body;
    cleanups.push(() => remove(endpoint.id));
    // Back to before the three, so one page holds them all.
    expect(await call(proc, 'POST', `/admin/webhooks/${endpoint.id}/replay`, staffToken, { since: s1 - 1 })).toMatchObject({ status: 200 });
    await eventually(() => hook.refusedBy.fail > 0 && hook.unique().some((w) => w.id === `evt_${f1}`));
    // The other conversation went through while the stuck one was failing, and its second event waited behind its first.
    expect(hook.unique().map((w) => w.id)).toEqual([`evt_${f1}`]);
    const dead = await until(async () => {
      const listed = (await call(proc, 'GET', `/admin/webhooks/${endpoint.id}/deliveries?status=dead`, staffToken)).body.deliveries as any[];
      return listed.length === 2 ? listed : null;
    });
    // Dead-lettered in order: the second was first tried only once the first was given up.
    expect(dead.map((d) => d.event_id).sort((a: number, b: number) => a - b)).toEqual([s1, s2]);
    const [first, second] = [dead.find((d) => d.event_id === s1), dead.find((d) => d.event_id === s2)];
    expect(Date.parse(second.first_attempt_at)).toBeGreaterThanOrEqual(Date.parse(first.last_attempt_at));
    // And the other conversation's event went through before the stuck one was given up.
    expect(hook.unique()[0]!.receivedAt).toBeLessThan(Date.parse(first.last_attempt_at));
    hook.choose = null;
    await call(proc, 'POST', `/admin/webhooks/${endpoint.id}/replay`, staffToken, { since: s1 - 1 });
    await eventually(() => hook.unique().some((w) => w.id === `evt_${s2}`));
    expect(
      hook
        .unique()
        .filter((w) => w.data.conversation_id === stuck)
        .map((w) => w.id),
    ).toEqual([`evt_${s1}`, `evt_${s2}`]);
  });

  it('keep delivering to a second endpoint, and keep answering sends, while a first endpoint hangs on an earlier event', async () => {
    const hanging = await receiver();
    hanging.mode = 'hang';
    const healthy = await receiver();
    for (const hook of [hanging, healthy]) {
      const endpoint = (await create({ url: hook.url, secret: hook.secret, event_types: ['message.created'] })).body;
      cleanups.push(() => remove(endpoint.id));
    }
    const first = await sendOver(http, userToken, conversation, 'one');
    await eventually(() => hanging.hanging === 1);
    const later = [await sendOver(http, userToken, conversation, 'two'), await sendOver(http, userToken, conversation, 'three')];
    await eventually(() => healthy.unique().length === 3);
    expect(healthy.unique().map((w) => w.id)).toEqual([first, ...later].map((id) => `evt_${id}`));
    // The positive signal: all this happened while the first endpoint's request for the first event was still open.
    expect(hanging.hanging).toBe(1);
    expect(hanging.accepted).toEqual([]);
  });
});

describe('the test receiver', () => {
  it('refuses a forged signature, a stale timestamp and a wrong secret, and accepts a valid one', () => {
    const key = secret();
    const body = '{"type":"message.created"}';
    const now = Math.floor(Date.now() / 1000);
    const sign = (k: string, ts: number) =>
      `v1,${createHmac('sha256', Buffer.from(k.slice(6), 'base64'))
        .update(`msg_1.${ts}.${body}`)
        .digest('base64')}`;
    const headers = (signature: string, ts = now) => ({ 'webhook-id': 'msg_1', 'webhook-timestamp': String(ts), 'webhook-signature': signature });
    expect(verifyStandardWebhook(key, headers(sign(key, now)), body)).toBeNull();
    expect(verifyStandardWebhook(key, headers(`v1,${Buffer.alloc(32).toString('base64')}`), body)).toBe('signature mismatch');
    expect(verifyStandardWebhook(key, headers(sign(secret(), now)), body)).toBe('signature mismatch');
    expect(verifyStandardWebhook(key, headers(sign(key, now - 600), now - 600), body)).toBe('timestamp out of tolerance');
    expect(verifyStandardWebhook(key, headers(sign(key, now)), body + ' ')).toBe('signature mismatch');
  });
});
