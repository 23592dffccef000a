import { describe, expect, it } from 'vitest';
import type { ConversationRepository } from '../../src/application/ports/conversation-repository.js';
import type { AccessChangeNotice, FanoutObserver, MessageStore } from '../../src/application/ports/fanout.js';
import type { ProfileRepository } from '../../src/application/ports/profile-repository.js';
import type { SessionRepository } from '../../src/application/ports/session-repository.js';
import type { EventStream } from '../../src/application/ports/event-stream.js';
import type { MessageRepository } from '../../src/application/ports/message-repository.js';
import type { UserRepository } from '../../src/application/ports/user-repository.js';
import type { MessageDraft } from '../../src/domain/message.js';

export interface Repositories {
  users: UserRepository;
  conversations: ConversationRepository;
  messages: MessageRepository;
  /** Where new messages are appended. */
  store: MessageStore;
  sessions: SessionRepository;
  profiles: ProfileRepository;
  /** The conversations' event streams. */
  events: EventStream;
  /** Caches among the repositories, told what fan-out would tell them. */
  observers?: FanoutObserver[];
}

const announce = (r: Repositories, notice: AccessChangeNotice) => r.observers?.forEach((o) => o.accessChanged?.(notice));

const t0 = new Date('2026-01-01T00:00:00.000Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
let n = 0;

/** One behaviour for every adapter of the repository ports; `fresh` gives empty repositories. */
export function repositoryContract(name: string, fresh: () => Promise<Repositories>) {
  const user = async (r: Repositories) => {
    const k = ++n;
    const created = await r.users.create(
      { email: `U${k}@Example.com`, username: `u${k}`, passwordHash: 'hash', phoneNumber: null, profilePicture: null, role: 'tenant' },
      t0,
    );
    if (!created.ok) throw new Error(created.error.code);
    return created.value;
  };
  const draft = (conversationId: number, senderId: number, content: string, clientId: string | null = null, s = 0): MessageDraft => ({
    conversationId,
    senderId,
    senderUsername: 'ignored-by-some',
    content,
    type: 'text',
    attachment: null,
    clientId,
    createdAt: at(s),
  });

  describe(`${name}: users`, () => {
    it('creates, finds case-insensitively by email, and refuses duplicates with a code', async () => {
      const r = await fresh();
      const u = await user(r);
      expect(u.email).toBe(u.email.toLowerCase());
      expect((await r.users.findByEmail(u.email.toUpperCase()))?.id).toBe(u.id);
      expect((await r.users.findByUsername(u.username))?.id).toBe(u.id);
      const dupEmail = await r.users.create(
        { email: u.email, username: 'other', passwordHash: 'h', phoneNumber: null, profilePicture: null, role: 'tenant' },
        t0,
      );
      expect(dupEmail.ok ? null : dupEmail.error.code).toBe('EMAIL_TAKEN');
      const dupName = await r.users.create(
        { email: 'o@x.io', username: u.username, passwordHash: 'h', phoneNumber: null, profilePicture: null, role: 'tenant' },
        t0,
      );
      expect(dupName.ok ? null : dupName.error.code).toBe('USERNAME_TAKEN');
    });

    it('hides soft-deleted users from every finder but keeps their names taken', async () => {
      const r = await fresh();
      const u = await user(r);
      await r.users.recordLogin(u.id, at(5));
      expect((await r.users.findById(u.id))?.lastLogin?.toISOString()).toBe(at(5).toISOString());
      await r.users.softDelete(u.id, at(10));
      expect(await r.users.findById(u.id)).toBeNull();
      expect(await r.users.findByEmail(u.email)).toBeNull();
      expect(await r.users.findSummaries([u.id])).toEqual([]);
      const again = await r.users.create({ email: u.email, username: 'fresh', passwordHash: 'h', phoneNumber: null, profilePicture: null, role: 'tenant' }, t0);
      expect(again.ok).toBe(false);
    });
  });

  describe(`${name}: conversations`, () => {
    it('creates one direct conversation per pair, whichever side asks', async () => {
      const r = await fresh();
      const [a, b] = [await user(r), await user(r)];
      const first = await r.conversations.findOrCreateDirect(a.id, b.id, t0);
      const second = await r.conversations.findOrCreateDirect(b.id, a.id, t0);
      expect(first.created).toBe(true);
      expect(second).toEqual({ conversation: first.conversation, created: false });
      expect(first.conversation).toMatchObject({ kind: 'direct', isOpen: false, title: null });
      expect((await r.conversations.participants(first.conversation.id)).map((p) => p.id)).toEqual([a.id, b.id].sort((x, y) => x - y));
    });

    it('adds, removes and re-adds participants, reporting whether anything changed', async () => {
      const r = await fresh();
      const [a, b, c] = [await user(r), await user(r), await user(r)];
      const g = await r.conversations.createGroup({ title: 'g', isOpen: true, createdBy: a.id, participantIds: [a.id, b.id] }, t0);
      expect(g).toMatchObject({ kind: 'group', isOpen: true, createdBy: a.id, title: 'g' });
      expect(await r.conversations.isParticipant(g.id, c.id)).toBe(false);
      expect(await r.conversations.addParticipant(g.id, c.id, at(1), a.id)).toBe(true);
      expect(await r.conversations.addParticipant(g.id, c.id, at(2), a.id)).toBe(false);
      expect(await r.conversations.conversationIdsOf(c.id)).toEqual([g.id]);
      expect(await r.conversations.removeParticipant(g.id, c.id, at(3), a.id)).toBe(true);
      expect(await r.conversations.removeParticipant(g.id, c.id, at(4), a.id)).toBe(false);
      expect(await r.conversations.isParticipant(g.id, c.id)).toBe(false);
      expect(await r.conversations.conversationIdsOf(c.id)).toEqual([]);
      expect(await r.conversations.addParticipant(g.id, c.id, at(5), a.id)).toBe(true);
      expect((await r.conversations.participants(g.id)).map((p) => p.id)).toEqual([a.id, b.id, c.id]);
    });

    it('lists a user’s conversations by latest activity with last message and unread count', async () => {
      const r = await fresh();
      const [a, b] = [await user(r), await user(r)];
      const older = await r.conversations.createGroup({ title: 'older', isOpen: false, createdBy: a.id, participantIds: [a.id, b.id] }, at(1));
      const newer = await r.conversations.createGroup({ title: 'newer', isOpen: false, createdBy: a.id, participantIds: [a.id, b.id] }, at(2));
      const m1 = (await r.store.append(draft(older.id, b.id, 'one', null, 10))).message!;
      await r.store.append(draft(older.id, a.id, 'mine', null, 11));
      const m3 = (await r.store.append(draft(older.id, b.id, 'three', null, 12))).message!;
      const list = (await r.conversations.listForUser(a.id, { limit: 10 })).conversations;
      expect(list.map((s) => s.conversation.id)).toEqual([older.id, newer.id]);
      expect(list[0]).toMatchObject({ unreadCount: 2, participantCount: 2, lastMessage: { id: m3.id, content: 'three' } });
      expect(list[1]).toMatchObject({ unreadCount: 0, lastMessage: null });
      expect(list[0]!.participants.map((p) => p.id)).toEqual([a.id, b.id]);
      expect(await r.conversations.advanceReadMarker(older.id, a.id, m1.id, at(20))).toEqual({ previous: 0, current: m1.id });
      expect(await r.conversations.advanceReadMarker(older.id, a.id, m1.id - 1, at(21))).toEqual({ previous: m1.id, current: m1.id });
      expect((await r.conversations.listForUser(a.id, { limit: 10 })).conversations[0]!.unreadCount).toBe(1);
    });

    it('pages the list with a cursor, and caps the unread count', async () => {
      const r = await fresh();
      const [a, b] = [await user(r), await user(r)];
      const groups = [];
      for (let i = 0; i < 5; i++)
        groups.push(await r.conversations.createGroup({ title: `g${i}`, isOpen: false, createdBy: b.id, participantIds: [a.id, b.id] }, at(100 + i)));
      for (let i = 0; i < 105; i++) await r.store.append(draft(groups[1]!.id, b.id, `spam ${i}`, null, 200));
      const first = await r.conversations.listForUser(a.id, { limit: 2 });
      expect(first.conversations.map((s) => s.conversation.id)).toEqual([groups[1]!.id, groups[4]!.id]);
      expect(first.conversations[0]!.unreadCount).toBe(100);
      const second = await r.conversations.listForUser(a.id, { limit: 2, after: first.next! });
      expect(second.conversations.map((s) => s.conversation.id)).toEqual([groups[3]!.id, groups[2]!.id]);
      const third = await r.conversations.listForUser(a.id, { limit: 2, after: second.next! });
      expect([third.conversations.map((s) => s.conversation.id), third.next]).toEqual([[groups[0]!.id], null]);
      expect(await r.conversations.countGroupsCreatedSince(b.id, at(102))).toBe(3);
      expect(await r.conversations.countGroupsCreatedSince(a.id, at(0))).toBe(0);
    });
  });

  describe(`${name}: sessions and profiles`, () => {
    const uuid = (k: number) => `00000000-0000-4000-8000-${String(k).padStart(12, '0')}`;
    let s = 0;
    const device = { deviceLabel: 'Phone', ip: '10.0.0.1' };

    it('rotates a refresh token once, recognises a retired one, and forgets revoked or expired sessions', async () => {
      const r = await fresh();
      const u = await user(r);
      const id = uuid(++s + n * 1000);
      await r.sessions.create({ id, userId: u.id, deviceLabel: 'Phone', ip: '10.0.0.1', expiresAt: at(1000) }, `h1-${id}`, t0);
      const rotated = await r.sessions.rotate(`h1-${id}`, `h2-${id}`, at(10), at(2000), { deviceLabel: 'Phone 2', ip: null });
      expect(rotated).toMatchObject({
        kind: 'rotated',
        session: { id, userId: u.id, deviceLabel: 'Phone 2', ip: '10.0.0.1', expiresAt: at(2000), lastUsedAt: at(10) },
      });
      expect(await r.sessions.rotate('no such hash', 'x', at(11), at(2000), device)).toEqual({ kind: 'unknown' });
      expect((await r.sessions.listLive(u.id, at(11))).map((x) => x.id)).toEqual([id]);
      expect(await r.sessions.listLive(u.id, at(2001))).toEqual([]);
      // The retired token again: the session ends in the same step, and its successor with it.
      expect(await r.sessions.rotate(`h1-${id}`, `h3-${id}`, at(12), at(2000), device)).toMatchObject({ kind: 'reused', session: { id, revokedAt: at(12) } });
      expect(await r.sessions.listLive(u.id, at(13))).toEqual([]);
      expect(await r.sessions.rotate(`h2-${id}`, `h4-${id}`, at(14), at(2000), device)).toEqual({ kind: 'unknown' });
      expect(await r.sessions.revoke(id, at(15))).toBe(false);
      expect((await r.sessions.findById(id))?.revokedAt).toEqual(at(12));
      const [a, b] = [uuid(++s + n * 1000), uuid(++s + n * 1000)];
      await r.sessions.create({ id: a, userId: u.id, ...device, expiresAt: at(1000) }, `ha-${a}`, t0);
      await r.sessions.create({ id: b, userId: u.id, ...device, expiresAt: at(1000) }, `hb-${b}`, t0);
      expect(await r.sessions.revokeAll(u.id, at(20), a)).toBe(1);
      expect((await r.sessions.listLive(u.id, at(21))).map((x) => x.id)).toEqual([a]);
      expect(await r.sessions.revoke(a, at(22))).toBe(true);
      expect(await r.sessions.rotate(`ha-${a}`, `ha2-${a}`, at(23), at(2000), device)).toEqual({ kind: 'unknown' });
    });

    it('of concurrent rotations of one token, exactly one rotates and the other is told reused, which ends the session', async () => {
      const r = await fresh();
      const u = await user(r);
      for (let race = 0; race < 20; race++) {
        const id = uuid(++s + n * 1000);
        await r.sessions.create({ id, userId: u.id, ...device, expiresAt: at(1000) }, `hr-${id}`, t0);
        const outcomes = await Promise.all(['x', 'y'].map((k) => r.sessions.rotate(`hr-${id}`, `hr-${k}-${id}`, at(10), at(2000), device)));
        expect(outcomes.map((o) => o.kind).sort()).toEqual(['reused', 'rotated']);
        expect((await r.sessions.findById(id))?.revokedAt).toEqual(at(10));
        for (const k of ['x', 'y']) expect(await r.sessions.rotate(`hr-${k}-${id}`, `hr-z-${id}`, at(11), at(2000), device)).toEqual({ kind: 'unknown' });
      }
    });

    it('loads a profile: the live user, the session if it is theirs, and their conversations', async () => {
      const r = await fresh();
      const [a, b] = [await user(r), await user(r)];
      const { conversation: c } = await r.conversations.findOrCreateDirect(a.id, b.id, t0);
      const id = uuid(++s + n * 1000);
      await r.sessions.create({ id, userId: a.id, ...device, expiresAt: at(1000) }, `hp-${id}`, t0);
      const profile = await r.profiles.load(a.id, id);
      expect(profile.user?.id).toBe(a.id);
      expect(profile.session?.id).toBe(id);
      expect([...profile.conversationIds]).toEqual([c.id]);
      // Another user's session is none of theirs, also once both the user and the session are known (cached).
      expect((await r.profiles.load(b.id, null)).user?.id).toBe(b.id);
      expect((await r.profiles.load(b.id, id)).session).toBeNull();
      expect((await r.profiles.load(b.id, null)).user?.id).toBe(b.id);
      await r.users.softDelete(b.id, at(5));
      announce(r, { userId: b.id, sessionId: null, change: 'deleted' });
      expect((await r.profiles.load(b.id, null)).user).toBeNull();
      expect((await r.profiles.load(987_654, null)).user).toBeNull();
    });
  });

  describe(`${name}: messages`, () => {
    it('appends with increasing ids, and answers a repeated (sender, conversation, client id) with the original', async () => {
      const r = await fresh();
      const [a, b] = [await user(r), await user(r)];
      const { conversation: c } = await r.conversations.findOrCreateDirect(a.id, b.id, t0);
      const first = await r.store.append(draft(c.id, a.id, 'hi', 'k1'));
      const second = await r.store.append(draft(c.id, a.id, 'hi again', 'k2'));
      const repeat = await r.store.append(draft(c.id, a.id, 'different content, same key', 'k1'));
      expect(first.created).toBe(true);
      expect(second.message!.id).toBeGreaterThan(first.message!.id);
      expect(repeat).toMatchObject({ created: false, message: { id: first.message!.id, content: 'hi' } });
      const otherSender = await r.store.append(draft(c.id, b.id, 'same key, other sender', 'k1'));
      expect(otherSender.created).toBe(true);
      expect(first.message).toMatchObject({ conversationId: c.id, senderId: a.id, type: 'text', readAt: null, editedAt: null, clientId: 'k1' });
      expect((await r.messages.findById(first.message!.id))?.senderUsername).toBe(a.username);
    });

    it('treats the same client id in another conversation as a new message, and a resend after a delete as gone', async () => {
      const r = await fresh();
      const [a, b, c] = [await user(r), await user(r), await user(r)];
      const { conversation: ab } = await r.conversations.findOrCreateDirect(a.id, b.id, t0);
      const { conversation: ac } = await r.conversations.findOrCreateDirect(a.id, c.id, t0);
      const inAb = await r.store.append(draft(ab.id, a.id, 'to b', 'c-1'));
      const inAc = await r.store.append(draft(ac.id, a.id, 'to c', 'c-1'));
      expect(inAc).toMatchObject({ created: true, message: { conversationId: ac.id, content: 'to c' } });
      expect(inAc.message!.id).not.toBe(inAb.message!.id);
      expect(await r.messages.softDelete(inAb.message!.id, at(5))).toBe(true);
      expect(await r.store.append(draft(ab.id, a.id, 'to b', 'c-1'))).toEqual({ created: false, message: null });
      expect((await r.messages.page(ab.id, { limit: 10 })).messages).toEqual([]);
    });

    it('with the duplicate guard, answers a send without client id repeating one of the window with that one, and stores the rest', async () => {
      const r = await fresh();
      const [a, b, c] = [await user(r), await user(r), await user(r)];
      const { conversation: ab } = await r.conversations.findOrCreateDirect(a.id, b.id, t0);
      const { conversation: ac } = await r.conversations.findOrCreateDirect(a.id, c.id, t0);
      const guard = { duplicateWindowMs: 10_000 };
      const first = await r.store.append(draft(ab.id, a.id, 'hello', null, 100), guard);
      expect(first.created).toBe(true);
      const repeat = await r.store.append(draft(ab.id, a.id, 'hello', null, 105), guard);
      expect(repeat).toMatchObject({ created: false, message: { id: first.message!.id, content: 'hello', senderUsername: a.username } });

      // Not repeats: another sender, other content, another type or attachment, another conversation, a client id.
      const others: MessageDraft[] = [
        draft(ab.id, b.id, 'hello', null, 106),
        draft(ab.id, a.id, 'hello!', null, 106),
        { ...draft(ab.id, a.id, 'hello', null, 106), type: 'image', attachment: { url: 'https://cdn.example.com/a.png' } },
        { ...draft(ab.id, a.id, 'hello', null, 106), type: 'image', attachment: { url: 'https://cdn.example.com/b.png' } },
        draft(ac.id, a.id, 'hello', null, 106),
        draft(ab.id, a.id, 'hello', 'with-a-key', 106),
      ];
      for (const d of others) expect((await r.store.append(d, guard)).created).toBe(true);

      // Past the window (the first was at 100, the repeat at 105 was not stored): a new message.
      const late = await r.store.append(draft(ab.id, a.id, 'hello', null, 111), guard);
      expect(late.created).toBe(true);
      // Without the guard, the same content is simply stored again.
      const unguarded = await r.store.append(draft(ab.id, a.id, 'hello', null, 112));
      expect(unguarded.created).toBe(true);
      // A deleted message is not repeated: the newest live one in the window is.
      await r.messages.softDelete(unguarded.message!.id, at(113));
      expect(await r.store.append(draft(ab.id, a.id, 'hello', null, 114), guard)).toMatchObject({ created: false, message: { id: late.message!.id } });

      // Two at once (one batch, or one after the other): one message.
      const both = await Promise.all([
        r.store.append(draft(ab.id, b.id, 'twice', null, 120), guard),
        r.store.append(draft(ab.id, b.id, 'twice', null, 120), guard),
      ]);
      expect(both.map((s) => s.created).sort()).toEqual([false, true]);
      expect(both[0].message!.id).toBe(both[1].message!.id);
      expect((await r.messages.page(ab.id, { after: first.message!.id - 1, limit: 100 })).messages.filter((m) => m.content === 'twice')).toHaveLength(1);
    });

    it('finds by ids and reads what is newer than per-group cursors, ascending', async () => {
      const r = await fresh();
      const [a, b, c] = [await user(r), await user(r), await user(r)];
      const { conversation: ab } = await r.conversations.findOrCreateDirect(a.id, b.id, t0);
      const { conversation: ac } = await r.conversations.findOrCreateDirect(a.id, c.id, t0);
      const ids: number[] = [];
      for (let i = 0; i < 6; i++) ids.push((await r.store.append(draft(i % 2 ? ac.id : ab.id, a.id, `m${i}`))).message!.id);
      expect((await r.messages.findByIds([ids[3]!, ids[0]!, 99_999_999])).map((m) => m.id)).toEqual([ids[0], ids[3]]);
      const newer = await r.messages.newerThan(
        [
          { conversationIds: [ab.id], afterId: ids[0]! },
          { conversationIds: [ac.id], afterId: ids[3]! },
        ],
        10,
      );
      expect(newer.map((m) => m.id)).toEqual([ids[2], ids[4], ids[5]]);
      expect((await r.messages.newerThan([{ conversationIds: [ab.id, ac.id], afterId: 0 }], 2)).map((m) => m.id)).toEqual(ids.slice(0, 2));
      expect(await r.conversations.conversationIdsOfUsers([a.id, b.id, 987_654])).toEqual(
        new Map([
          [a.id, [ab.id, ac.id].sort((x, y) => x - y)],
          [b.id, [ab.id]],
        ]),
      );
    });

    it('pages ascending: newest page by default, before/after cursors, has_more', async () => {
      const r = await fresh();
      const [a, b] = [await user(r), await user(r)];
      const { conversation: c } = await r.conversations.findOrCreateDirect(a.id, b.id, t0);
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) ids.push((await r.store.append(draft(c.id, a.id, `m${i}`))).message!.id);
      const ids2 = (p: { messages: { id: number }[] }) => p.messages.map((m) => m.id);
      const newest = await r.messages.page(c.id, { limit: 2 });
      expect([ids2(newest), newest.hasMore]).toEqual([ids.slice(3), true]);
      const before = await r.messages.page(c.id, { before: ids[3], limit: 2 });
      expect([ids2(before), before.hasMore]).toEqual([ids.slice(1, 3), true]);
      const after = await r.messages.page(c.id, { after: ids[1], limit: 10 });
      expect([ids2(after), after.hasMore]).toEqual([ids.slice(2), false]);
      const fromZero = await r.messages.page(c.id, { after: 0, limit: 2 });
      expect([ids2(fromZero), fromZero.hasMore]).toEqual([ids.slice(0, 2), true]);
    });

    it('edits, soft-deletes (hidden, not gone) and marks read only what others sent', async () => {
      const r = await fresh();
      const [a, b] = [await user(r), await user(r)];
      const { conversation: c } = await r.conversations.findOrCreateDirect(a.id, b.id, t0);
      const mine = (await r.store.append(draft(c.id, a.id, 'mine'))).message!;
      const theirs = (await r.store.append(draft(c.id, b.id, 'theirs'))).message!;
      const later = (await r.store.append(draft(c.id, b.id, 'later'))).message!;
      const edited = await r.messages.edit(mine.id, 'mine, edited', at(30));
      expect(edited).toMatchObject({ content: 'mine, edited', editedAt: at(30) });
      expect(await r.messages.markReadBetween(c.id, a.id, 0, theirs.id, at(40))).toBe(1);
      expect(await r.messages.markReadBetween(c.id, a.id, theirs.id, later.id, at(41))).toBe(1);
      expect(await r.messages.markReadBetween(c.id, a.id, 0, later.id, at(42))).toBe(0);
      expect((await r.messages.findById(theirs.id))?.readAt).toEqual(at(40));
      expect((await r.messages.findById(mine.id))?.readAt).toBeNull();
      expect((await r.messages.findById(later.id))?.readAt).toEqual(at(41));
      expect(await r.messages.softDelete(theirs.id, at(50))).toBe(true);
      expect(await r.messages.softDelete(theirs.id, at(51))).toBe(false);
      expect(await r.messages.findById(theirs.id)).toBeNull();
      expect(await r.messages.edit(theirs.id, 'x', at(52))).toBeNull();
      expect((await r.messages.page(c.id, { limit: 10 })).messages.map((m) => m.id)).toEqual([mine.id, later.id]);
    });

    it('keeps every change in its conversation’s stream, in commit order, with the payload each is replayed as', async () => {
      const r = await fresh();
      const [a, b, c] = [await user(r), await user(r), await user(r)];
      const g = await r.conversations.createGroup({ title: 'g', isOpen: false, createdBy: a.id, participantIds: [a.id, b.id] }, t0);
      const before = await r.events.horizon();
      const first = (await r.store.append(draft(g.id, a.id, 'first'))).message!;
      await r.messages.edit(first.id, 'first, edited', at(1));
      const second = (await r.store.append(draft(g.id, b.id, 'second'))).message!;
      await r.conversations.advanceReadMarker(g.id, a.id, second.id, at(2));
      await r.conversations.advanceReadMarker(g.id, a.id, first.id, at(3));
      await r.conversations.addParticipant(g.id, c.id, at(4), a.id);
      await r.messages.softDelete(second.id, at(5));
      await r.conversations.removeParticipant(g.id, c.id, at(6), a.id);

      const page = await r.events.conversation(g.id, before, 100);
      expect(page.events.map((e) => e.type)).toEqual([
        'message.created',
        'message.updated',
        'conversation.read',
        'participant.added',
        'message.deleted',
        'participant.removed',
      ]);
      const ids = page.events.map((e) => e.id);
      expect(ids).toEqual([...ids].sort((x, y) => x - y));
      expect(ids[0]).toBe(first.id);
      expect(page.events.map((e) => e.data)).toEqual([
        expect.objectContaining({ id: first.id, content: 'first, edited', conversation_id: g.id }),
        expect.objectContaining({ id: first.id, content: 'first, edited', edited_at: at(1).toISOString() }),
        { conversation_id: g.id, user_id: a.id, message_id: second.id, read_at: at(2).toISOString() },
        { conversation_id: g.id, user: { id: c.id, username: c.username }, added_by: a.id },
        { id: second.id, conversation_id: g.id, deleted_at: at(5).toISOString() },
        { conversation_id: g.id, user_id: c.id, removed_by: a.id },
      ]);
      expect(page).toMatchObject({ hasMore: false, next: ids.at(-1) });

      // A cursor in the middle resumes right after it; a page of two says there is more.
      const rest = await r.events.conversation(g.id, ids[1]!, 2);
      expect(rest.events.map((e) => e.id)).toEqual(ids.slice(2, 4));
      expect(rest).toMatchObject({ hasMore: true, next: ids[3] });

      // Across conversations: the user's, up to what is committed; the other conversation's events are not theirs.
      const { conversation: other } = await r.conversations.findOrCreateDirect(b.id, c.id, t0);
      await r.store.append(draft(other.id, c.id, 'not for a'));
      const ofA = await r.events.ofUser(a.id, before, 100);
      expect(ofA.events.map((e) => e.id)).toEqual(ids);
      const ofB = await r.events.ofUser(b.id, before, 100);
      expect(ofB.events.map((e) => e.conversationId)).toEqual([...ids.map(() => g.id), other.id]);
      const all = await r.events.all(before, 100, ['message.deleted', 'participant.added']);
      expect(all.events.map((e) => e.type)).toEqual(['participant.added', 'message.deleted']);
      expect(await r.events.horizon()).toBeGreaterThanOrEqual(ofB.events.at(-1)!.id);

      // A deleted message's content leaves the stream: its edits are no longer replayed, its deletion is.
      await r.messages.softDelete(first.id, at(7));
      const afterDeletion = await r.events.conversation(g.id, before, 100);
      expect(afterDeletion.events.map((e) => e.type)).toEqual([
        'conversation.read',
        'participant.added',
        'message.deleted',
        'participant.removed',
        'message.deleted',
      ]);
      expect(JSON.stringify(afterDeletion.events)).not.toContain('first, edited');
    });
  });
}
