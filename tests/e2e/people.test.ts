import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeTable } from '../../src/adapters/gateway/route-table.js';
import type { People } from '../../src/application/people/people.js';
import type { UseCases } from '../../src/application/use-cases.js';
import type { ManageWebhooks } from '../../src/application/webhooks/manage-webhooks.js';
import { freshDatabase } from '../support/database.js';
import { HttpClient } from '../support/http-client.js';
import { killAll, PROCESS_TEST_ENV, startProcess, type ServerProcess } from '../support/server-process.js';
import { WsClient } from '../support/ws-client.js';

type U = { id: number; token: string; username: string };

/** Every /admin route, from the route table itself (a new one is covered without editing this file). */
const ADMIN_ROUTES = routeTable({} as UseCases, {} as ManageWebhooks, {} as People).filter((r) => r.pattern.startsWith('/admin'));

describe('people and safety, across two server processes on one database', () => {
  let databaseUrl: string;
  let p1: ServerProcess, p2: ServerProcess;
  let http1: HttpClient, http2: HttpClient;
  let ws1: string, ws2: string;
  let db: pg.Client;
  const clients: WsClient[] = [];
  const connect = async (url: string, u: U) => {
    const c = await WsClient.connect(url, u.token);
    clients.push(c);
    return c;
  };
  /** A user with a name of their own, so a prefix finds exactly them. */
  let n = 0;
  const person = (http: HttpClient, stem: string) => http.register(`${stem}${process.pid}x${++n}`);
  const makeStaff = async (u: U, superuser = false) => {
    await db.query('UPDATE users SET is_staff = true, is_superuser = $2 WHERE id = $1', [u.id, superuser]);
  };

  beforeAll(async () => {
    databaseUrl = await freshDatabase('people');
    const env = { ...PROCESS_TEST_ENV, DATABASE_URL: databaseUrl, DIRECTORY: 'all' };
    p1 = await startProcess(env);
    p2 = await startProcess(env);
    http1 = new HttpClient(`http://127.0.0.1:${p1.port}`);
    http2 = new HttpClient(`http://127.0.0.1:${p2.port}`);
    ws1 = `ws://127.0.0.1:${p1.port}/ws`;
    ws2 = `ws://127.0.0.1:${p2.port}/ws`;
    db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.socket.terminate();
    await db?.end();
    killAll();
  });

  it('finds a user by username prefix, starts a direct conversation with them, and shows their role and picture; a profile change reaches the other process', async () => {
    const alice = await person(http1, 'alice');
    const bob = await person(http2, 'bobby');
    const picture = 'https://example.com/bob.png';
    expect((await http2.patch('/users/me', { display_name: 'Bob B.', picture_url: picture }, bob.token)).body).toMatchObject({ display_name: 'Bob B.' });

    const found = await http1.get(`/users?query=${encodeURIComponent(bob.username.slice(0, 8).toUpperCase())}`, alice.token);
    expect(found.status).toBe(200);
    expect(found.body.users).toContainEqual({
      id: bob.id,
      username: bob.username,
      display_name: 'Bob B.',
      role: 'tenant',
      picture_url: picture,
      online: false,
      last_seen_at: null,
    });
    expect(found.body.users.map((u: { id: number }) => u.id)).not.toContain(alice.id);
    // The display name is a prefix too.
    expect((await http1.get('/users?query=bob%20b', alice.token)).body.users.map((u: { id: number }) => u.id)).toContain(bob.id);

    const conversation = await http1.post('/conversations', { participant_ids: [bob.id] }, alice.token);
    expect(conversation.status).toBe(201);
    expect(conversation.body.participants).toContainEqual({ id: bob.id, username: bob.username, display_name: 'Bob B.', role: 'tenant', picture_url: picture });
    expect((await http1.get(`/users/${bob.id}`, alice.token)).body).toMatchObject({ id: bob.id, picture_url: picture, role: 'tenant' });

    // Alice listens on p1; Bob renames himself through p2.
    const a = await connect(ws1, alice);
    await http2.patch('/users/me', { display_name: 'Robert' }, bob.token);
    const pushed = await a.event('profileUpdated', (d) => d.id === bob.id && d.display_name === 'Robert');
    expect(pushed.data).toEqual({ id: bob.id, username: bob.username, display_name: 'Robert', role: 'tenant', picture_url: picture });
    const participants = await http1.get(`/conversations/${conversation.body.id}/participants`, alice.token);
    expect(participants.body.participants).toContainEqual(expect.objectContaining({ id: bob.id, display_name: 'Robert' }));
  });

  it('refuses a blocked pair’s sends into their direct conversation on every process (USER_BLOCKED) and lets them through again once unblocked', async () => {
    const alice = await person(http1, 'carla');
    const bob = await person(http2, 'derek');
    const direct = (await http1.post('/conversations', { participant_ids: [bob.id] }, alice.token)).body;
    const group = (await http1.post('/conversations', { participant_ids: [bob.id], title: 'both' }, alice.token)).body;
    const a = await connect(ws1, alice);
    const b = await connect(ws2, bob);
    // Bob's process has the direct conversation's membership cached from this send.
    expect((await b.request('sendMessage', { conversation_id: direct.id, content: 'hi' })).event).toBe('ack');

    expect((await http1.post(`/users/${bob.id}/block`, {}, alice.token)).body).toEqual({ user_id: bob.id, blocked: true });
    // Announced after the block's notice: once Bob's process delivers it, it has dropped the cached state.
    const marker = await a.request('sendMessage', { conversation_id: group.id, content: 'marker' });
    await b.event('receiveMessage', (d) => d.id === marker.data.id);
    const refused = await b.request('sendMessage', { conversation_id: direct.id, content: 'let me in' });
    expect(refused.error?.code).toBe('USER_BLOCKED');
    expect((await http2.post(`/conversations/${direct.id}/messages`, { content: 'over REST' }, bob.token)).body.error.code).toBe('USER_BLOCKED');
    expect((await http2.post('/conversations', { participant_ids: [alice.id] }, bob.token)).status).toBe(403);
    // The blocker cannot send either while the block stands; the group they share is not affected.
    expect((await a.request('sendMessage', { conversation_id: direct.id, content: 'still?' })).error?.code).toBe('USER_BLOCKED');
    // No typing crosses the block: Bob types in the direct conversation, then in the group; Alice sees only the group's.
    expect((await b.request('typing', { conversation_id: direct.id, is_typing: true })).event).toBe('ack');
    expect((await b.request('typing', { conversation_id: group.id, is_typing: true })).event).toBe('ack');
    await a.event('typing', (d) => d.conversation_id === group.id && d.user_id === bob.id);
    expect(a.received('typing').filter((f) => f.data.conversation_id === direct.id)).toEqual([]);
    expect((await b.request('sendMessage', { conversation_id: group.id, content: 'in the group' })).event).toBe('ack');

    expect((await http1.get('/users/me/blocks', alice.token)).body.blocks).toEqual([
      { user: expect.objectContaining({ id: bob.id, username: bob.username }), blocked_at: expect.any(String) },
    ]);
    expect((await http1.del(`/users/${bob.id}/block`, alice.token)).body).toEqual({ user_id: bob.id, blocked: false });
    const marker2 = await a.request('sendMessage', { conversation_id: group.id, content: 'marker 2' });
    await b.event('receiveMessage', (d) => d.id === marker2.data.id);
    const again = await b.request('sendMessage', { conversation_id: direct.id, content: 'friends again' });
    expect(again.event).toBe('ack');
    await a.event('receiveMessage', (d) => d.id === again.data.id);
  });

  it('shows neither of a blocked pair the other’s presence through their direct conversation, while a group carries it', async () => {
    const alice = await person(http1, 'irene');
    const bob = await person(http2, 'jonas');
    const dave = await person(http1, 'kevin');
    const direct = (await http1.post('/conversations', { participant_ids: [bob.id] }, alice.token)).body;
    await http2.post('/conversations', { participant_ids: [dave.id], title: 'bob and dave' }, bob.token);
    expect((await http1.post(`/users/${bob.id}/block`, {}, alice.token)).status).toBe(200);
    const a = await connect(ws1, alice);
    const d = await connect(ws1, dave);
    await connect(ws2, bob);
    // One announcement reaches everyone on Alice's process who may see it: once Dave has it, Alice would have too.
    await d.event('presence', (p) => p.user_id === bob.id && p.online === true);
    expect(a.received('presence').filter((f) => f.data.user_id === bob.id)).toEqual([]);
    const participants = (await http1.get(`/conversations/${direct.id}/participants`, alice.token)).body.participants;
    expect(participants.find((p: { id: number }) => p.id === bob.id)).toMatchObject({ online: false, last_seen_at: null });
    expect((await http1.get(`/users/${bob.id}`, alice.token)).body).toMatchObject({ online: false });
    expect((await http1.get(`/users/${bob.id}`, dave.token)).body).toMatchObject({ online: true });
  });

  it('under the default DIRECTORY=shared, finds and shows only people who share a conversation with the caller, and limits searches per user', async () => {
    const p3 = await startProcess({
      ...PROCESS_TEST_ENV,
      DATABASE_URL: databaseUrl,
      DIRECTORY: undefined,
      RATE_LIMITS: 'on',
      DIRECTORY_PER_USER_PER_MINUTE: '4',
    });
    const http3 = new HttpClient(`http://127.0.0.1:${p3.port}`);
    const alice = await person(http1, 'lena');
    const stranger = await person(http1, 'lenny');
    const prefix = stranger.username.slice(0, 6);
    expect((await http3.get(`/users?query=${prefix}`, alice.token)).body.users).toEqual([]);
    expect((await http3.get(`/users/${stranger.id}`, alice.token)).body.error.code).toBe('USER_NOT_FOUND');
    await http1.post('/conversations', { participant_ids: [stranger.id], title: 'met here' }, alice.token);
    expect((await http3.get(`/users?query=${prefix}`, alice.token)).body.users.map((u: { id: number }) => u.id)).toEqual([stranger.id]);
    expect((await http3.get(`/users/${stranger.id}`, alice.token)).status).toBe(200);
    expect((await http3.get(`/users?query=${prefix}`, alice.token)).status).toBe(200);
    expect((await http3.get(`/users?query=${prefix}`, alice.token)).status).toBe(200);
    const limited = await http3.get(`/users?query=${prefix}`, alice.token);
    expect([limited.status, limited.body.error.code]).toEqual([429, 'RATE_LIMITED']);
    // Per user: someone else still searches.
    expect((await http3.get(`/users?query=${prefix}`, stranger.token)).status).toBe(200);
    p3.child.kill('SIGTERM');
    await p3.exited;
  });

  it('answers blocking yourself, a missing user, the same user twice and an absent block with their codes', async () => {
    const alice = await person(http1, 'erin');
    const bob = await person(http1, 'frank');
    const codeOf = async (r: Promise<{ status: number; body: { error?: { code: string } } }>) => {
      const { status, body } = await r;
      return [status, body.error?.code];
    };
    expect(await codeOf(http1.post(`/users/${alice.id}/block`, {}, alice.token))).toEqual([400, 'CANNOT_BLOCK_SELF']);
    expect(await codeOf(http1.post('/users/2000000000/block', {}, alice.token))).toEqual([404, 'USER_NOT_FOUND']);
    expect((await http1.post(`/users/${bob.id}/block`, {}, alice.token)).status).toBe(200);
    expect(await codeOf(http1.post(`/users/${bob.id}/block`, {}, alice.token))).toEqual([409, 'ALREADY_BLOCKED']);
    expect(await codeOf(http1.del(`/users/${alice.id}/block`, bob.token))).toEqual([404, 'NOT_BLOCKED']);
    // Whoever blocks the caller is not found by them.
    expect((await http1.get(`/users?query=${alice.username}`, bob.token)).body.users).toEqual([]);
  });

  it('refuses bad profile and directory input with clear codes', async () => {
    const alice = await person(http1, 'gina');
    const codeOf = async (r: Promise<{ status: number; body: { error?: { code: string } } }>) => {
      const { status, body } = await r;
      return [status, body.error?.code];
    };
    expect(await codeOf(http1.get('/users?query=a', alice.token))).toEqual([400, 'QUERY_TOO_SHORT']);
    expect(await codeOf(http1.patch('/users/me', { display_name: 'admin\u202Egnp.exe' }, alice.token))).toEqual([400, 'VALIDATION_FAILED']);
    expect(await codeOf(http1.patch('/users/me', { display_name: 'nul\u0000' }, alice.token))).toEqual([400, 'VALIDATION_FAILED']);
    expect(await codeOf(http1.patch('/users/me', { picture_url: 'javascript:alert(1)' }, alice.token))).toEqual([400, 'VALIDATION_FAILED']);
    expect(await codeOf(http1.patch('/users/me', { email: 'x@example.com' }, alice.token))).toEqual([400, 'VALIDATION_FAILED']);
    expect(await codeOf(http1.patch('/users/me', {}, alice.token))).toEqual([400, 'VALIDATION_FAILED']);
  });

  it('takes a report to staff, whose deactivation closes the user’s socket on the other process with 4001 and is in the audit log', async () => {
    const alice = await person(http1, 'hanna');
    const mallory = await person(http2, 'mallory');
    const eve = await person(http1, 'evelyn');
    const staff = await person(http1, 'staff');
    await makeStaff(staff);
    const direct = (await http1.post('/conversations', { participant_ids: [mallory.id] }, alice.token)).body;
    const m = await connect(ws2, mallory);
    const before = await m.request('sendMessage', { conversation_id: direct.id, content: 'hello' });
    const bad = await m.request('sendMessage', { conversation_id: direct.id, content: 'something abusive' });

    const report = await http1.post(`/messages/${bad.data.id}/report`, { reason: 'harassment' }, alice.token);
    expect(report.status).toBe(201);
    expect(report.body).toMatchObject({ message_id: bad.data.id, reporter_id: alice.id, sender_id: mallory.id, status: 'open' });
    expect((await http1.post(`/messages/${bad.data.id}/report`, { reason: 'again' }, alice.token)).body.error.code).toBe('ALREADY_REPORTED');
    expect((await http1.post(`/messages/${bad.data.id}/report`, { reason: 'not mine' }, eve.token)).body.error.code).toBe('MESSAGE_NOT_FOUND');
    expect((await http1.post(`/messages/${bad.data.id}/report`, { reason: 'x'.repeat(1001) }, alice.token)).status).toBe(400);

    const queue = await http2.get('/admin/reports', staff.token);
    expect(queue.status).toBe(200);
    const queued = queue.body.reports.find((r: { id: number }) => r.id === report.body.id);
    expect(queued).toMatchObject({ reason: 'harassment', reported_content: 'something abusive', sender: { id: mallory.id }, reporter: { id: alice.id } });
    expect(queued.message.id).toBe(bad.data.id);
    expect(queued.context.map((c: { id: number }) => c.id)).toEqual([before.data.id, bad.data.id]);

    const signedIn = (await http2.post('/auth/login', { username: mallory.username, password: 'correct horse' })).body;
    const deactivated = await http1.post(`/admin/users/${mallory.id}/deactivate`, {}, staff.token);
    expect(deactivated.body).toEqual({ id: mallory.id, is_active: false });
    expect((await m.closed).code).toBe(4001);
    const login = await http2.post('/auth/login', { username: mallory.username, password: 'correct horse' });
    expect(login.body.error.code).toBe('INVALID_CREDENTIALS');
    expect((await http2.get('/users/me', mallory.token)).status).toBe(401);
    expect((await http2.post('/auth/refresh', { refresh_token: signedIn.refresh_token })).status).toBe(401);

    const removed = await http1.post(`/admin/reports/${report.body.id}/delete-message`, {}, staff.token);
    expect(removed.body).toMatchObject({ id: report.body.id, status: 'actioned', resolved_by: staff.id });
    expect((await http1.post(`/admin/reports/${report.body.id}/dismiss`, {}, staff.token)).body.error.code).toBe('REPORT_NOT_FOUND');

    const audit = await http2.get('/admin/audit', staff.token);
    expect(audit.body.entries.slice(0, 2)).toEqual([
      expect.objectContaining({
        actor_id: staff.id,
        action: 'message.deleted',
        target_user_id: mallory.id,
        message_id: bad.data.id,
        report_id: report.body.id,
      }),
      expect.objectContaining({ actor_id: staff.id, action: 'user.deactivated', target_user_id: mallory.id }),
    ]);
    // Append-only: the database itself refuses to rewrite or erase it.
    await expect(db.query("UPDATE audit_log SET action = 'user.reactivated'")).rejects.toThrow(/append-only/);
    await expect(db.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/);

    expect((await http2.post(`/admin/users/${mallory.id}/reactivate`, {}, staff.token)).body).toEqual({ id: mallory.id, is_active: true });
    expect((await http2.post('/auth/login', { username: mallory.username, password: 'correct horse' })).status).toBe(200);
  });

  it('answers 404 NOT_FOUND to a user who is not staff on every /admin route', async () => {
    const user = await person(http1, 'plain');
    expect(ADMIN_ROUTES.length).toBeGreaterThanOrEqual(13);
    for (const route of ADMIN_ROUTES) {
      const path = route.pattern.replace(/:\w+/g, '1');
      const { status, body } = await http1.request(route.method, path, { token: user.token, ...(route.body ? { body: {} } : {}) });
      expect([route.method, route.pattern, status, body.error?.code]).toEqual([route.method, route.pattern, 404, 'NOT_FOUND']);
    }
  });

  it('lets superusers grant and remove staff, and refuses it to staff who are not superusers', async () => {
    const root = await person(http1, 'root');
    await makeStaff(root, true);
    const helper = await person(http1, 'helper');
    const carol = await person(http2, 'carol');
    await makeStaff(helper);
    expect((await http1.request('PUT', `/admin/users/${carol.id}/staff`, { token: helper.token })).body.error.code).toBe('FORBIDDEN');
    expect((await http1.request('PUT', `/admin/users/${carol.id}/staff`, { token: root.token })).body).toEqual({ id: carol.id, is_staff: true });
    // Carol's process learns it: she reaches the queue there at once.
    expect((await http2.get('/admin/reports', carol.token)).status).toBe(200);
    expect((await http1.del(`/admin/users/${carol.id}/staff`, root.token)).body).toEqual({ id: carol.id, is_staff: false });
    // Her process forgets her cached profile when the change's notice arrives.
    let status = 0;
    for (let i = 0; i < 100 && status !== 404; i++) {
      status = (await http2.get('/admin/reports', carol.token)).status;
      if (status !== 404) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(404);
    const actions = (await http1.get('/admin/audit', root.token)).body.entries.slice(0, 2).map((e: { action: string }) => e.action);
    expect(actions).toEqual(['staff.removed', 'staff.granted']);
  });
});
