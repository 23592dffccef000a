import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { WsClient } from '../support/ws-client.js';

let server: TestServer;
type U = { id: number; token: string; username: string };
let alice: U, bob: U;

beforeAll(async () => {
  server = await startTestServer({ CORS_ORIGINS: 'https://app.example.com', MAX_BODY_BYTES: '4096' });
  [alice, bob] = await Promise.all([server.http.register(), server.http.register()]);
});
afterAll(() => server?.stop());

describe('accounts', () => {
  it('registers, never returns the password, and logs in by email or username', async () => {
    const reg = await server.http.post('/auth/register', {
      email: 'Landlord@Example.com',
      username: 'landlord_1',
      password: 'long enough',
      role: 'landlord',
      phone_number: '+44 20 7946 0000',
    });
    expect(reg.status).toBe(201);
    expect(reg.body.user).toMatchObject({
      email: 'landlord@example.com',
      username: 'landlord_1',
      role: 'landlord',
      phone_number: '+44 20 7946 0000',
      is_active: true,
    });
    expect(JSON.stringify(reg.body)).not.toMatch(/password|scrypt/);
    const byEmail = await server.http.post('/auth/login', { email: 'LANDLORD@example.com', password: 'long enough' });
    expect(byEmail.status).toBe(200);
    expect(byEmail.body.user.last_login).not.toBeNull();
    const byName = await server.http.post('/auth/login', { username: 'landlord_1', password: 'long enough' });
    expect(byName.status).toBe(200);
    const me = await server.http.get('/users/me', byName.body.token);
    expect(me.body).toMatchObject({ id: reg.body.user.id, username: 'landlord_1' });
    expect(JSON.stringify(me.body)).not.toMatch(/password/);
  });

  it('refuses duplicates with 409 and a code per field', async () => {
    const base = { password: 'long enough', role: 'tenant' };
    await server.http.post('/auth/register', { ...base, email: 'dup@example.com', username: 'dup_user' });
    const email = await server.http.post('/auth/register', { ...base, email: 'DUP@example.com', username: 'other_user' });
    expect([email.status, email.body.error.code]).toEqual([409, 'EMAIL_TAKEN']);
    const name = await server.http.post('/auth/register', { ...base, email: 'other@example.com', username: 'dup_user' });
    expect([name.status, name.body.error.code]).toEqual([409, 'USERNAME_TAKEN']);
  });

  it('answers wrong credentials with one 401 whatever was wrong', async () => {
    const wrong = await server.http.post('/auth/login', { username: alice.username, password: 'nope nope' });
    const unknown = await server.http.post('/auth/login', { username: 'nobody_here', password: 'nope nope' });
    expect([wrong.status, wrong.body.error.code]).toEqual([401, 'INVALID_CREDENTIALS']);
    expect(unknown.body).toEqual(wrong.body);
  });

  it('validates registration fields with details', async () => {
    const res = await server.http.post('/auth/register', { email: 'not-an-email', username: 'x', password: 'short', role: 'owner' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['email', 'password', 'role', 'username']);
  });
});

describe('HTTP errors', () => {
  it('answers malformed JSON, non-object bodies, unknown routes and methods with the error shape', async () => {
    const bad = await server.http.request('POST', '/auth/login', { raw: '{"email": ' });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'INVALID_JSON']);
    const arr = await server.http.request('POST', '/conversations', { raw: '[1]', token: alice.token });
    expect([arr.status, arr.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    const missing = await server.http.get('/nope', alice.token);
    expect([missing.status, missing.body.error.code]).toEqual([404, 'NOT_FOUND']);
    const method = await server.http.request('PUT', '/conversations', { token: alice.token });
    expect([method.status, method.body.error.code]).toEqual([405, 'METHOD_NOT_ALLOWED']);
    const badId = await server.http.get('/conversations/abc', alice.token);
    expect([badId.status, badId.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  it('answers a body over the limit with 413', async () => {
    const res = await server.http.request('POST', '/auth/login', { raw: JSON.stringify({ email: 'x'.repeat(10_000), password: 'y' }) });
    expect([res.status, res.body.error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
  });

  it('requires a bearer token, refusing missing and forged ones with 401', async () => {
    expect((await server.http.get('/conversations')).status).toBe(401);
    const forged = alice.token.slice(0, -3) + (alice.token.endsWith('AAA') ? 'BBB' : 'AAA');
    const res = await server.http.get('/conversations', forged);
    expect([res.status, res.body.error.code]).toEqual([401, 'UNAUTHORIZED']);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('serves liveness and readiness without auth', async () => {
    expect((await server.http.get('/healthz')).body).toEqual({ status: 'ok' });
    expect((await server.http.get('/readyz')).body).toMatchObject({
      status: 'ready',
      database: 'up',
      fanout: { state: 'live', broker: { broker: 'postgres', state: 'up' } },
    });
  });
});

describe('CORS', () => {
  it('allows listed origins, on preflight and on responses', async () => {
    const pre = await fetch(`${server.http.baseUrl}/conversations`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    const res = await server.http.request('GET', '/conversations', { token: alice.token, headers: { origin: 'https://app.example.com' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
  });

  it('refuses other origins, on preflight and on the WebSocket upgrade', async () => {
    const pre = await fetch(`${server.http.baseUrl}/conversations`, { method: 'OPTIONS', headers: { origin: 'https://evil.example.com' } });
    expect(pre.status).toBe(403);
    const res = await server.http.request('GET', '/conversations', { token: alice.token, headers: { origin: 'https://evil.example.com' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    await expect(WsClient.connect(server.wsUrl, alice.token, { origin: 'https://evil.example.com' })).rejects.toMatchObject({ status: 403 });
    const ok = await WsClient.connect(server.wsUrl, alice.token, { origin: 'https://app.example.com' });
    ok.socket.terminate();
  });
});

describe('conversations and messages over REST', () => {
  it('sends over REST with the same rules and broadcast as sendMessage', async () => {
    const conv = (await server.http.post('/conversations', { participant_ids: [bob.id] }, alice.token)).body;
    const ws = await WsClient.connect(server.wsUrl, bob.token);
    const sent = await server.http.post(`/conversations/${conv.id}/messages`, { content: 'over http', client_id: 'h-1' }, alice.token);
    expect(sent.status).toBe(201);
    expect((await ws.event('receiveMessage', (d) => d.id === sent.body.id)).data).toEqual(sent.body);
    const again = await server.http.post(`/conversations/${conv.id}/messages`, { content: 'over http', client_id: 'h-1' }, alice.token);
    expect([again.status, again.body.id]).toEqual([200, sent.body.id]);
    const tooLong = await server.http.post(`/conversations/${conv.id}/messages`, { content: 'x'.repeat(3000) }, alice.token);
    expect(tooLong.status).toBe(201);

    const edited = await server.http.patch(`/messages/${sent.body.id}`, { content: 'edited over http' }, alice.token);
    expect([edited.status, edited.body.content]).toEqual([200, 'edited over http']);
    expect((await server.http.patch(`/messages/${sent.body.id}`, { content: 'no' }, bob.token)).status).toBe(403);
    const read = await server.http.post(`/conversations/${conv.id}/read`, { message_id: sent.body.id }, bob.token);
    expect(read.body).toMatchObject({ conversation_id: conv.id, message_id: sent.body.id });
    const del = await server.http.del(`/messages/${sent.body.id}`, alice.token);
    expect([del.status, del.body]).toEqual([200, { id: sent.body.id }]);
    expect((await server.http.del(`/messages/${sent.body.id}`, alice.token)).status).toBe(404);
    ws.socket.terminate();
  });

  it('pages messages by id cursor, ascending, at most 100', async () => {
    const conv = (await server.http.post('/conversations', { participant_ids: [bob.id], title: 'paging' }, alice.token)).body;
    const ids: number[] = [];
    for (let i = 0; i < 7; i++) ids.push((await server.http.post(`/conversations/${conv.id}/messages`, { content: `p${i}` }, alice.token)).body.id);
    const newest = await server.http.get(`/conversations/${conv.id}/messages?limit=3`, bob.token);
    expect(newest.body.messages.map((m: { id: number }) => m.id)).toEqual(ids.slice(4));
    expect(newest.body.has_more).toBe(true);
    const older = await server.http.get(`/conversations/${conv.id}/messages?limit=3&before=${ids[4]}`, bob.token);
    expect(older.body.messages.map((m: { id: number }) => m.id)).toEqual(ids.slice(1, 4));
    const after = await server.http.get(`/conversations/${conv.id}/messages?after=${ids[1]}&limit=2`, bob.token);
    expect(after.body.messages.map((m: { id: number }) => m.id)).toEqual(ids.slice(2, 4));
    expect(after.body.has_more).toBe(true);
    const tooMany = await server.http.get(`/conversations/${conv.id}/messages?limit=101`, bob.token);
    expect([tooMany.status, tooMany.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  it('refuses unknown participants and a conversation with nobody else', async () => {
    const nobody = await server.http.post('/conversations', { participant_ids: [alice.id] }, alice.token);
    expect([nobody.status, nobody.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    const ghost = await server.http.post('/conversations', { participant_ids: [123_456] }, alice.token);
    expect([ghost.status, ghost.body.error.code]).toEqual([404, 'USER_NOT_FOUND']);
    expect((await server.http.get('/conversations/123456', alice.token)).status).toBe(404);
  });
});

describe('tokens from an identity provider that shares the secret', () => {
  it('accepts a SimpleJWT-style token with a user_id claim', async () => {
    const secret = '79qnEocNoVPRGte0aYZNZneUe9JwLnlFVyssTWXqbV-J04zF';
    const idp = await startTestServer({ JWT_SECRET: secret, JWT_USER_ID_CLAIM: 'user_id' });
    try {
      const user = await idp.http.register();
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ token_type: 'access', exp: Math.floor(Date.now() / 1000) + 300, jti: 'abc', user_id: user.id })}`;
      const token = `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
      const me = await idp.http.get('/users/me', token);
      expect([me.status, me.body.id]).toEqual([200, user.id]);
      const refresh = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ token_type: 'refresh', exp: Math.floor(Date.now() / 1000) + 300, user_id: user.id })}`;
      const refreshToken = `${refresh}.${createHmac('sha256', secret).update(refresh).digest('base64url')}`;
      expect((await idp.http.get('/users/me', refreshToken)).status).toBe(401);
    } finally {
      await idp.stop();
    }
  });
});
