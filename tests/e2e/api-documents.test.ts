import { createECDH, createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkResponse, seen } from '../support/api-conformance.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { WsClient } from '../support/ws-client.js';

// Every response and frame below is checked against the documents as it arrives (tests/support/api-conformance.ts);
// these tests make sure each documented answer is actually exercised against the real server.

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

const committed = (name: string) => JSON.parse(readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8')) as Record<string, any>;

describe('API documents', () => {
  it('serves /openapi.json and /asyncapi.json equal to the committed docs/ copies', async () => {
    for (const name of ['openapi.json', 'asyncapi.json']) {
      const res = await fetch(`http://127.0.0.1:${server.port}/${name}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(committed(name));
    }
  });

  it('every documented success reply of every REST operation is given by the server and matches the OpenAPI document', async () => {
    const http = server.http;
    const a = await http.post('/auth/register', { email: 'doc_a@example.com', username: 'doc_a', password: 'correct horse', role: 'tenant' });
    const b = await http.register();
    const c = await http.register();
    const login = await http.post('/auth/login', { username: 'doc_a', password: 'correct horse' });
    await http.post('/auth/refresh', { refresh_token: login.body.refresh_token });
    const token = a.body.token as string;
    const sessions = await http.get('/auth/sessions', token);
    const other = sessions.body.sessions.find((s: { current: boolean }) => !s.current);
    await http.del(`/auth/sessions/${other.id}`, token);
    await http.get('/users/me', token);

    const direct = await http.post('/conversations', { participant_ids: [b.id] }, token);
    await http.post('/conversations', { participant_ids: [b.id] }, token); // the same direct conversation: 200
    const group = await http.post('/conversations', { participant_ids: [b.id], title: 'docs' }, token);
    await http.get('/conversations?limit=10', token);
    await http.get(`/conversations/${group.body.id}`, token);
    await http.post(`/conversations/${group.body.id}/participants`, { user_id: c.id }, token);
    await http.get(`/conversations/${group.body.id}/participants`, token);
    await http.del(`/conversations/${group.body.id}/participants/${c.id}`, token);

    const sent = await http.post(`/conversations/${direct.body.id}/messages`, { content: 'hello', client_id: 'doc-1' }, token);
    await http.post(`/conversations/${direct.body.id}/messages`, { content: 'hello', client_id: 'doc-1' }, token); // repeated client_id: 200
    await http.get(`/conversations/${direct.body.id}/messages?limit=5`, token);
    await http.post(`/conversations/${direct.body.id}/read`, { message_id: sent.body.id }, b.token);
    await http.patch(`/messages/${sent.body.id}`, { content: 'hello again' }, token);
    await http.del(`/messages/${sent.body.id}`, token);
    await http.get('/conversations/999999', token); // a refusal, checked against its documented shape
    await http.get(`/conversations/${direct.body.id}/events?since=0&limit=5`, token);
    await http.get('/sync', token);
    await http.request('PUT', `/conversations/${group.body.id}/mute`, { token });
    await http.del(`/conversations/${group.body.id}/mute`, token);
    await http.get('/push/vapid-public-key', token);
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const endpoint = 'https://fcm.googleapis.com/fcm/send/doc-1';
    const keys = { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') };
    await http.post('/push/subscriptions', { endpoint, keys }, token);
    await http.request('DELETE', '/push/subscriptions', { token, body: { endpoint } });

    // Staff's webhook endpoints: the flag is read at sign-in.
    const staff = await http.post('/auth/register', { email: 'doc_s@example.com', username: 'doc_s', password: 'correct horse', role: 'landlord' });
    const db = new pg.Client({ connectionString: server.databaseUrl });
    await db.connect();
    await db.query('UPDATE users SET is_staff = true WHERE id = $1', [staff.body.user.id]);
    await db.end();
    const staffToken = (await http.post('/auth/login', { username: 'doc_s', password: 'correct horse' })).body.token as string;
    const hook = await http.post('/admin/webhooks', { url: 'https://hooks.example.com/chat', event_types: ['message.created'] }, staffToken);
    await http.get('/admin/webhooks', staffToken);
    await http.get(`/admin/webhooks/${hook.body.id}`, staffToken);
    await http.get(`/admin/webhooks/${hook.body.id}/deliveries`, staffToken);
    await http.post(`/admin/webhooks/${hook.body.id}/replay`, { since: 0 }, staffToken);
    await http.del(`/admin/webhooks/${hook.body.id}`, staffToken);

    // Password reset: the token a mail would carry, stored as the server stores one (its SHA-256).
    await http.post('/auth/password/forgot', { email: 'doc_s@example.com' });
    const resetToken = randomBytes(32).toString('base64url');
    const resets = new pg.Client({ connectionString: server.databaseUrl });
    await resets.connect();
    await resets.query(`INSERT INTO password_resets (user_id, token_hash, created_at, expires_at) VALUES ($1, $2, now(), now() + interval '5 minutes')`, [
      staff.body.user.id,
      createHash('sha256').update(resetToken).digest('base64url'),
    ]);
    await resets.end();
    await http.post('/auth/password/reset', { token: resetToken, password: 'new battery staple' });

    // People, blocks, reports and moderation; a superuser grants and removes staff.
    await http.get('/users?query=doc', token);
    await http.patch('/users/me', { display_name: 'Doc A' }, token);
    await http.get(`/users/${b.id}`, token);
    await http.post(`/users/${b.id}/block`, {}, token);
    await http.get('/users/me/blocks', token);
    await http.del(`/users/${b.id}/block`, token);
    const fromB = [
      await http.post(`/conversations/${direct.body.id}/messages`, { content: 'report me' }, b.token),
      await http.post(`/conversations/${direct.body.id}/messages`, { content: 'and me' }, b.token),
    ];
    const reports = [];
    for (const m of fromB) reports.push(await http.post(`/messages/${m.body.id}/report`, { reason: 'spam' }, token));
    const superuser = new pg.Client({ connectionString: server.databaseUrl });
    await superuser.connect();
    await superuser.query('UPDATE users SET is_superuser = true WHERE id = $1', [staff.body.user.id]);
    await superuser.end();
    const superToken = (await http.post('/auth/login', { username: 'doc_s', password: 'new battery staple' })).body.token as string;
    await http.get('/admin/reports', superToken);
    await http.post(`/admin/reports/${reports[0]!.body.id}/dismiss`, {}, superToken);
    await http.post(`/admin/reports/${reports[1]!.body.id}/delete-message`, {}, superToken);
    const moderated = await http.register();
    await http.post(`/admin/users/${moderated.id}/deactivate`, {}, superToken);
    await http.post(`/admin/users/${moderated.id}/reactivate`, {}, superToken);
    await http.request('PUT', `/admin/users/${moderated.id}/staff`, { token: superToken });
    await http.del(`/admin/users/${moderated.id}/staff`, superToken);
    await http.get('/admin/audit', superToken);

    // Inside a conversation: reactions, search, read state, edit history, rename, archive, delete and restore.
    const talk = await http.post(`/conversations/${group.body.id}/messages`, { content: 'searchable words' }, token);
    const heart = encodeURIComponent('❤️');
    await http.request('PUT', `/messages/${talk.body.id}/reactions/${heart}`, { token: b.token });
    await http.del(`/messages/${talk.body.id}/reactions/${heart}`, b.token);
    await http.patch(`/messages/${talk.body.id}`, { content: 'searchable words, edited' }, token);
    await http.get(`/messages/${talk.body.id}/versions`, token);
    await http.get('/search/messages?q=searchable', token);
    await http.get(`/conversations/${group.body.id}/read-state`, token);
    await http.patch(`/conversations/${group.body.id}`, { title: 'renamed' }, token);
    await http.request('PUT', `/conversations/${group.body.id}/archive`, { token });
    await http.del(`/conversations/${group.body.id}/archive`, token);
    await http.del(`/conversations/${group.body.id}`, token);
    await http.post(`/conversations/${group.body.id}/restore`, {}, superToken);

    // Files: the bytes go to the upload URL and come back from /files, neither of them JSON.
    const bytes = Buffer.from('%PDF-1.4\n% a lease\n%%EOF\n');
    const created = await http.post('/uploads', { name: 'lease.pdf', mime_type: 'application/pdf', size: bytes.length }, token);
    const absolute = (url: string) => new URL(url, http.baseUrl).toString();
    const put = await fetch(absolute(created.body.upload_url), { method: created.body.method, headers: created.body.headers, body: bytes });
    checkResponse('PUT', new URL(absolute(created.body.upload_url)).pathname, put.status, await put.json());
    await http.post(`/uploads/${created.body.upload_id}/complete`, {}, token);
    const attached = await http.post(
      `/conversations/${direct.body.id}/messages`,
      { type: 'file', content: '', attachment: { upload_id: created.body.upload_id } },
      token,
    );
    const file = new URL(absolute(attached.body.attachment.url));
    for (const range of [undefined, 'bytes=0-3']) {
      const res = await fetch(file, { headers: range ? { range } : {} });
      await res.arrayBuffer();
      checkResponse('GET', file.pathname, res.status, undefined);
    }

    const changed = await http.post('/users/me/password', { current_password: 'correct horse', new_password: 'battery staple' }, token);
    await http.post('/auth/logout', {}, changed.body.token);
    await http.del('/users/me', c.token);
    await http.get('/healthz');
    await http.get('/readyz');

    const documented = Object.entries(committed('openapi.json').paths).flatMap(([path, methods]) =>
      Object.entries(methods as Record<string, any>).flatMap(([method, op]) =>
        Object.keys(op.responses)
          .filter((status) => Number(status) < 300)
          .map((status) => `${method.toUpperCase()} ${path} ${status}`),
      ),
    );
    expect(documented.length).toBeGreaterThan(20);
    expect(documented.filter((answer) => !seen.has(answer))).toEqual([]);
    expect(seen.has('GET /conversations/{id} 404')).toBe(true);
  });

  it('every client event’s answer and every push is sent by the server on /ws and matches the AsyncAPI document', async () => {
    const http = server.http;
    const [a, b] = await Promise.all([http.register(), http.register()]);
    const group = await http.post('/conversations', { participant_ids: [b.id], title: 'frames' }, a.token);
    const wsA = await WsClient.connect(server.wsUrl, a.token);
    const wsB = await WsClient.connect(server.wsUrl, b.token);
    try {
      await wsA.event('presence', (d) => d.user_id === b.id && d.online === true);
      await wsA.request('joinConversation', { conversation_id: group.body.id });
      const sent = await wsA.request('sendMessage', { conversation_id: group.body.id, content: 'hi', client_id: 'frames-1' });
      await wsB.event('receiveMessage', (d) => d.id === sent.data.id);
      await wsA.request('editMessage', { message_id: sent.data.id, content: 'hi!' });
      await wsB.event('messageUpdated', (d) => d.id === sent.data.id);
      await wsB.request('markRead', { conversation_id: group.body.id, message_id: sent.data.id });
      await wsA.event('readReceipt', (d) => d.user_id === b.id);
      await wsB.request('typing', { conversation_id: group.body.id, is_typing: true });
      await wsA.event('typing', (d) => d.user_id === b.id);
      await wsA.request('deleteMessage', { message_id: sent.data.id });
      await wsB.event('messageDeleted', (d) => d.id === sent.data.id);
      const c = await http.register();
      await http.post(`/conversations/${group.body.id}/participants`, { user_id: c.id }, a.token);
      await wsB.event('participantAdded', (d) => d.user.id === c.id);
      const liked = await wsA.request('sendMessage', { conversation_id: group.body.id, content: 'like me' });
      await http.request('PUT', `/messages/${liked.data.id}/reactions/${encodeURIComponent('👍')}`, { token: b.token });
      await wsA.event('reactionUpdated', (d) => d.message_id === liked.data.id);
      await http.patch(`/conversations/${group.body.id}`, { title: 'frames, renamed' }, a.token);
      await wsB.event('conversationUpdated', (d) => d.conversation_id === group.body.id || d.id === group.body.id);
      await http.patch('/users/me', { display_name: 'Frame B' }, b.token);
      await wsA.event('profileUpdated', (d) => d.id === b.id || d.user_id === b.id || d.user?.id === b.id);
      await wsB.request('leaveConversation', { conversation_id: group.body.id });
      await wsA.event('participantRemoved', (d) => d.user_id === b.id);
      const refused = await wsA.request('sendMessage', { conversation_id: 999_999, content: 'nowhere' });
      expect(refused.error?.code).toBe('CONVERSATION_NOT_FOUND');
      const unknown = await wsA.request('noSuchEvent', {});
      expect(unknown.error?.code).toBe('UNKNOWN_EVENT');
    } finally {
      await Promise.all([wsA.close(), wsB.close()]);
    }

    const messages = committed('asyncapi.json').components.messages as Record<string, any>;
    const fromServer = Object.keys(messages).filter((name) => messages[name].payload.additionalProperties === false && !name.endsWith('Error'));
    expect(fromServer.length).toBeGreaterThan(10);
    expect(fromServer.filter((name) => !seen.has(`frame ${name}`))).toEqual([]);
    expect(seen.has('frame sendMessageError')).toBe(true);
    expect(seen.has('frame frameError')).toBe(true);
  });
});
