import { generateKeyPairSync, pbkdf2Sync } from 'node:crypto';
import { importPKCS8, SignJWT } from 'jose';
import pg from 'pg';
import { io as connectIo, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/database.js';
import { HttpClient } from '../support/http-client.js';
import { killAll, startProcess, type ServerProcess, PROCESS_TEST_ENV } from '../support/server-process.js';
import { WsClient } from '../support/ws-client.js';

const SECRET = 'EEMFul08vEqaYflndoQJkvQ6Y2XDKP6sfId6LxJZsI7oB_Zh';
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
let databaseUrl: string;
let p1: ServerProcess, p2: ServerProcess;
let http1: HttpClient, http2: HttpClient;
const clients: WsClient[] = [];
const sockets: Socket[] = [];

const env = () => ({
  ...PROCESS_TEST_ENV,
  DATABASE_URL: databaseUrl,
  JWT_SECRET: SECRET,
  JWT_PUBLIC_KEY: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  JWT_ISSUER: 'https://id.example.com',
  JWT_AUDIENCE: 'chat',
});

beforeAll(async () => {
  databaseUrl = await freshDatabase('sessions');
  [p1, p2] = await Promise.all([startProcess(env()), startProcess(env())]);
  http1 = new HttpClient(`http://127.0.0.1:${p1.port}`);
  http2 = new HttpClient(`http://127.0.0.1:${p2.port}`);
}, 60_000);

afterAll(() => {
  for (const c of clients) c.socket.terminate();
  for (const s of sockets) s.disconnect();
  killAll();
});

async function signUp() {
  const name = `s${Date.now()}${Math.random().toString(36).slice(2, 6)}`;
  const res = await http1.request('POST', '/auth/register', {
    body: { email: `${name}@example.com`, username: name, password: 'correct horse', role: 'tenant' },
    headers: { 'user-agent': 'Phone/1.0' },
  });
  expect(res.status).toBe(201);
  return { ...res.body, username: name } as {
    user: { id: number };
    token: string;
    refresh_token: string;
    expires_at: string;
    refresh_expires_at: string;
    username: string;
  };
}

/** A /ws connection on each process and a Socket.IO one on the second, each recording how it closes. */
async function connectEverywhere(token: string) {
  const ws1 = await WsClient.connect(`ws://127.0.0.1:${p1.port}/ws`, token);
  const ws2 = await WsClient.connect(`ws://127.0.0.1:${p2.port}/ws`, token);
  clients.push(ws1, ws2);
  const sio = connectIo(`http://127.0.0.1:${p2.port}`, { query: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
  sockets.push(sio);
  await new Promise<void>((resolve, reject) => (sio.once('connect', () => resolve()), sio.once('connect_error', reject)));
  const sioReason = new Promise<{ code: number }>((resolve) => sio.once('disconnectReason', resolve));
  const sioGone = new Promise<string>((resolve) => sio.once('disconnect', resolve));
  return {
    /** Every connection closed with 4001 (Socket.IO: told 4001, then disconnected) within 2 s of `since`. */
    async closedWith4001Within2s(since: number) {
      const [c1, c2, reason, gone] = await Promise.all([ws1.closed, ws2.closed, sioReason, sioGone]);
      const elapsed = Date.now() - since;
      expect([c1.code, c2.code, reason.code, gone]).toEqual([4001, 4001, 4001, 'io server disconnect']);
      expect(elapsed).toBeLessThan(2_000);
    },
  };
}

describe('tokens and sessions', () => {
  it('returns a short-lived access token and a refresh token; a refresh rotates the pair; replaying the old one revokes the session', async () => {
    const me = await signUp();
    expect(new Date(me.expires_at).getTime() - Date.now()).toBeLessThanOrEqual(15 * 60_000 + 5_000);
    expect(new Date(me.refresh_expires_at).getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    const first = await http1.post('/auth/refresh', { refresh_token: me.refresh_token });
    expect(first.status).toBe(200);
    expect(first.body.refresh_token).not.toBe(me.refresh_token);
    expect(first.body.token).not.toBe(me.token);
    expect((await http2.get('/users/me', first.body.token)).status).toBe(200);
    const conn = await connectEverywhere(first.body.token);
    // The old refresh token again: theft. 401, the session is over, its newer token too, its connections close.
    const replayedAt = Date.now();
    const replay = await http2.post('/auth/refresh', { refresh_token: me.refresh_token });
    expect([replay.status, replay.body.error.code]).toEqual([401, 'UNAUTHORIZED']);
    await conn.closedWith4001Within2s(replayedAt);
    expect((await http1.post('/auth/refresh', { refresh_token: first.body.refresh_token })).status).toBe(401);
    expect((await http1.get('/users/me', first.body.token)).status).toBe(401);
    expect((await http1.post('/auth/refresh', { refresh_token: 'rt_not-a-token' })).status).toBe(401);
  });

  it('lists the caller’s sessions with their device, and revokes one (closing only its connections)', async () => {
    const me = await signUp();
    const other = await http1.request('POST', '/auth/login', {
      body: { username: me.username, password: 'correct horse' },
      headers: { 'user-agent': 'Laptop/2.0' },
    });
    const list = await http1.get('/auth/sessions', me.token);
    expect(list.body.sessions.map((s: { device: string; current: boolean }) => [s.device, s.current]).sort()).toEqual([
      ['Laptop/2.0', false],
      ['Phone/1.0', true],
    ]);
    const laptop = list.body.sessions.find((s: { current: boolean }) => !s.current);
    const phoneWs = await WsClient.connect(`ws://127.0.0.1:${p2.port}/ws`, me.token);
    clients.push(phoneWs);
    const laptopConn = await connectEverywhere(other.body.token);
    const revokedAt = Date.now();
    expect((await http1.del(`/auth/sessions/${laptop.id}`, me.token)).status).toBe(200);
    await laptopConn.closedWith4001Within2s(revokedAt);
    // The phone's session is untouched: its connection still answers.
    const still = await phoneWs.request('joinConversation', { conversation_id: 1 });
    expect(still.event).toBe('error');
    expect(still.error?.code).toBe('CONVERSATION_NOT_FOUND');
    expect((await http1.del(`/auth/sessions/${laptop.id}`, me.token)).status).toBe(404);
    expect((await http1.del('/auth/sessions/not-a-uuid', me.token)).status).toBe(400);
    const stranger = await signUp();
    const strangers = (await http1.get('/auth/sessions', stranger.token)).body.sessions[0];
    expect((await http1.del(`/auth/sessions/${strangers.id}`, me.token)).body.error.code).toBe('SESSION_NOT_FOUND');
  });
});

describe('revocation reaches every connection on every process within 2 s, with 4001', () => {
  it('on logout', async () => {
    const me = await signUp();
    const conn = await connectEverywhere(me.token);
    const at = Date.now();
    expect((await http1.post('/auth/logout', {}, me.token)).status).toBe(200);
    await conn.closedWith4001Within2s(at);
    expect((await http2.get('/users/me', me.token)).status).toBe(401);
    await expect(WsClient.connect(`ws://127.0.0.1:${p2.port}/ws`, me.token)).rejects.toMatchObject({ status: 401 });
  });

  it('on a password change, which hands the caller a new session', async () => {
    const me = await signUp();
    const conn = await connectEverywhere(me.token);
    const at = Date.now();
    const changed = await http1.post('/users/me/password', { current_password: 'correct horse', new_password: 'battery staple' }, me.token);
    expect(changed.status).toBe(200);
    await conn.closedWith4001Within2s(at);
    expect((await http2.get('/users/me', me.token)).status).toBe(401);
    expect((await http2.get('/users/me', changed.body.token)).status).toBe(200);
    expect((await http1.post('/auth/login', { username: me.username, password: 'correct horse' })).status).toBe(401);
    expect((await http1.post('/auth/login', { username: me.username, password: 'battery staple' })).status).toBe(200);
    expect((await http1.post('/users/me/password', { current_password: 'wrong', new_password: 'whatever else' }, changed.body.token)).status).toBe(401);
  });

  it('on account deletion', async () => {
    const me = await signUp();
    const conn = await connectEverywhere(me.token);
    const at = Date.now();
    expect((await http1.del('/users/me', me.token)).status).toBe(204);
    await conn.closedWith4001Within2s(at);
  });

  it('on deactivation made directly in the database (as an admin tool would), and the cached user never lets them back in', async () => {
    const me = await signUp();
    const conn = await connectEverywhere(me.token);
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      const at = Date.now();
      await admin.query('UPDATE users SET is_active = false WHERE id = $1', [me.user.id]);
      await conn.closedWith4001Within2s(at);
      for (const port of [p1.port, p2.port]) {
        await expect(WsClient.connect(`ws://127.0.0.1:${port}/ws`, me.token)).rejects.toMatchObject({ status: 401 });
      }
      expect((await http2.get('/users/me', me.token)).status).toBe(401);
      await admin.query('UPDATE users SET is_active = true WHERE id = $1', [me.user.id]);
      // Reactivated: once the caches are told (a notification away), the same token works again.
      let back: WsClient | null = null;
      for (let attempt = 0; !back && attempt < 40; attempt++) {
        back = await WsClient.connect(`ws://127.0.0.1:${p2.port}/ws`, me.token).catch(() => null);
        if (!back) await new Promise((r) => setTimeout(r, 50));
      }
      expect(back).not.toBeNull();
      clients.push(back!);
    } finally {
      await admin.end();
    }
  });
});

describe('passwords and external identity providers', () => {
  it('re-hashes a Django pbkdf2 password with argon2id on login, without ending the user’s sessions', async () => {
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      const hash = `pbkdf2_sha256$1000$salty$${pbkdf2Sync('from django', 'salty', 1000, 32, 'sha256').toString('base64')}`;
      const { rows } = await admin.query<{ id: number }>(
        "INSERT INTO users (email, username, password, role) VALUES ('dj@example.com', 'django_user', $1, 'tenant') RETURNING id",
        [hash],
      );
      const first = await http1.post('/auth/login', { username: 'django_user', password: 'from django' });
      expect(first.status).toBe(200);
      const stored = (await admin.query<{ password: string }>('SELECT password FROM users WHERE id = $1', [rows[0]!.id])).rows[0]!.password;
      expect(stored).toMatch(/^\$argon2id\$/);
      // The session of that login is alive: the re-hash was not a password change.
      expect((await http2.get('/users/me', first.body.token)).status).toBe(200);
      expect((await http1.post('/auth/login', { username: 'django_user', password: 'from django' })).status).toBe(200);
    } finally {
      await admin.end();
    }
  });

  it('accepts an external RS256 token with the right issuer and audience, and refuses one with the wrong audience', async () => {
    const me = await signUp();
    const privateKey = await importPKCS8(keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'RS256');
    const external = (aud: string) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'RS256' })
        .setSubject(String(me.user.id))
        .setIssuer('https://id.example.com')
        .setAudience(aud)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey);
    const good = await external('chat');
    expect((await http2.get('/users/me', good)).body.id).toBe(me.user.id);
    const ws = await WsClient.connect(`ws://127.0.0.1:${p1.port}/ws`, good);
    clients.push(ws);
    expect((await http2.get('/users/me', await external('another-app'))).status).toBe(401);
    await expect(WsClient.connect(`ws://127.0.0.1:${p1.port}/ws`, await external('another-app'))).rejects.toMatchObject({ status: 401 });
  });
});
