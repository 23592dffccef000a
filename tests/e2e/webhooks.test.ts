import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
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
  });
});
