import { describe, expect, it } from 'vitest';
import type { Broadcaster, FanoutObserver, MembershipChange, MessageAppender } from '../../src/application/ports/fanout.js';
import type { MessageDraft } from '../../src/domain/message.js';
import { eventually } from '../support/eventually.js';
import type { RecordingDelivery } from '../support/recording-delivery.js';

/** One process of a fan-out: what its use cases call, and what its connections were handed. */
export interface FanoutProcess {
  readonly broadcaster: Broadcaster;
  readonly appender: MessageAppender;
  readonly delivery: RecordingDelivery;
  readonly observed: MembershipChange[];
  /**
   * This process's connections start following these conversations and
   * users; resolves once the fan-out receives them (brokers routing by
   * interest subscribe).
   */
  follow(conversationIds: readonly number[], userIds?: readonly number[]): Promise<void>;
}

export interface FanoutFixture {
  /** Every process of the fan-out (one for the local broadcaster, two for PostgreSQL). */
  readonly processes: readonly FanoutProcess[];
  /** A conversation (with real users, where the store needs them): its id and its members' ids. */
  conversation(members?: number): Promise<{ id: number; userIds: number[] }>;
}

export const observing = (observed: MembershipChange[]): FanoutObserver => ({ membershipChanged: (c) => observed.push(c) });

const draft = (conversationId: number, senderId: number, content: string, clientId: string | null = null): MessageDraft => ({
  conversationId,
  senderId,
  senderUsername: `u${senderId}`,
  content,
  type: 'text',
  attachment: null,
  clientId,
  createdAt: new Date(),
});

/** Every process follows these. */
const followAll = (f: FanoutFixture, conversationIds: readonly number[], userIds: readonly number[] = []) =>
  Promise.all(f.processes.map((p) => p.follow(conversationIds, userIds)));

/**
 * One behaviour for every broker: whatever the process an event is sent from,
 * every process following its conversation (or user) gets it once, in the
 * order it was sent.
 */
export function broadcasterContract(name: string, fresh: () => Promise<FanoutFixture>) {
  const received = (p: FanoutProcess, event: string, conversationId?: number) =>
    p.delivery.delivered.filter(
      (d) => d.kind === 'publish' && d.event === event && (conversationId === undefined || d.conversationIds.includes(conversationId)),
    );

  describe(`${name}: broadcaster contract`, () => {
    it('announces each appended message once on every process, in append order, and a repeated client id not at all', async () => {
      const f = await fresh();
      const c = await f.conversation();
      await followAll(f, [c.id]);
      const sender = f.processes.at(-1)!;
      const stored = [];
      for (let i = 0; i < 30; i++) stored.push(await sender.appender.append(draft(c.id, c.userIds[0]!, `m${i}`, i === 7 ? 'same' : null)));
      const repeat = await sender.appender.append(draft(c.id, c.userIds[0]!, 'again', 'same'));
      expect(repeat).toMatchObject({ created: false, message: { id: stored[7]!.message!.id } });
      const ids = stored.map((s) => s.message!.id);
      for (const p of f.processes) {
        await eventually(() => received(p, 'receiveMessage', c.id).length >= ids.length);
        const pushed = received(p, 'receiveMessage', c.id).map((d) => (d as { data: { id: number; content: string } }).data);
        expect(pushed.map((m) => m.id)).toEqual(ids);
        expect(pushed[3]).toMatchObject({ content: 'm3', conversation_id: c.id, sender: { id: c.userIds[0] }, client_id: null });
      }
    });

    it('announces a message too large for one notification, whole', async () => {
      const f = await fresh();
      const c = await f.conversation();
      await followAll(f, [c.id]);
      const content = `${'é'.repeat(6_000)}!`;
      const stored = await f.processes[0]!.appender.append(draft(c.id, c.userIds[0]!, content));
      for (const p of f.processes) {
        await eventually(() => received(p, 'receiveMessage', c.id).length === 1);
        expect((received(p, 'receiveMessage', c.id)[0] as { data: { id: number; content: string } }).data).toMatchObject({ id: stored.message!.id, content });
      }
    });

    it('delivers conversation events, audience and payload intact, in the order they were sent', async () => {
      const f = await fresh();
      const c = await f.conversation();
      await followAll(f, [c.id]);
      const from = f.processes[0]!;
      await from.broadcaster.toConversation(c.id, 'typing', { conversation_id: c.id, user_id: 7, is_typing: true }, { exceptUserId: 7 });
      await from.broadcaster.toConversation(c.id, 'messageDeleted', { id: 1, conversation_id: c.id, deleted_at: 'x' });
      await from.broadcaster.toConversation(c.id, 'typing', { conversation_id: c.id, user_id: 7, is_typing: false }, { exceptUserId: 7 });
      for (const p of f.processes) {
        await eventually(() => p.delivery.delivered.length >= 3);
        expect(p.delivery.delivered).toEqual([
          { kind: 'publish', conversationIds: [c.id], event: 'typing', data: { conversation_id: c.id, user_id: 7, is_typing: true }, exceptUserId: 7 },
          { kind: 'publish', conversationIds: [c.id], event: 'messageDeleted', data: { id: 1, conversation_id: c.id, deleted_at: 'x' } },
          { kind: 'publish', conversationIds: [c.id], event: 'typing', data: { conversation_id: c.id, user_id: 7, is_typing: false }, exceptUserId: 7 },
        ]);
      }
    });

    it('delivers one event to the followers of thousands of conversations, and one larger than a notification', async () => {
      const f = await fresh();
      const many = Array.from({ length: 3_000 }, (_, i) => 1_000_000 + i);
      await followAll(f, [3]);
      await f.processes[0]!.broadcaster.toConversations(many, 'presence', { user_id: 5, online: true, last_seen_at: null }, { exceptUserId: 5 });
      const big = { id: 9, conversation_id: 3, deleted_at: 'z'.repeat(10_000) };
      await f.processes[0]!.broadcaster.toConversation(3, 'messageDeleted', big);
      for (const p of f.processes) {
        await eventually(() => received(p, 'messageDeleted').length === 1);
        const presence = received(p, 'presence') as Array<{ conversationIds: number[]; exceptUserId?: number; data: unknown }>;
        expect(presence.flatMap((d) => d.conversationIds).sort((a, b) => a - b)).toEqual(many);
        expect(presence.every((d) => d.exceptUserId === 5)).toBe(true);
        expect((received(p, 'messageDeleted')[0] as { data: unknown }).data).toEqual(big);
      }
    });

    it('delivers many events sent in one step in the order given, across statements and around one larger than a notification', async () => {
      const f = await fresh();
      await followAll(
        f,
        Array.from({ length: 50 }, (_, i) => 2_000_000 + i),
      );
      const events = Array.from({ length: 5_000 }, (_, i) => ({
        conversationIds: [2_000_000 + (i % 50)],
        event: 'presence' as const,
        data: { user_id: i + 1, online: i % 2 === 0, last_seen_at: i === 2_500 ? 'y'.repeat(9_000) : null },
        audience: { exceptUserId: i + 1 },
      }));
      await f.processes[0]!.broadcaster.toConversationsEach(events);
      for (const p of f.processes) {
        await eventually(() => received(p, 'presence').length >= events.length);
        const got = received(p, 'presence') as Array<{
          conversationIds: number[];
          exceptUserId?: number;
          data: { user_id: number; last_seen_at: string | null };
        }>;
        expect(got.map((d) => d.data.user_id)).toEqual(events.map((e) => e.data.user_id));
        expect(got[2_500]!.data.last_seen_at).toBe('y'.repeat(9_000));
        expect(got.every((d, i) => d.exceptUserId === i + 1 && d.conversationIds[0] === 2_000_000 + (i % 50))).toBe(true);
      }
    });

    it('delivers to one user, and tells every process and its observers of each membership change once', async () => {
      const f = await fresh();
      const users = Array.from({ length: 1_500 }, (_, i) => i + 1);
      await followAll(f, [], [3]);
      await f.processes[0]!.broadcaster.membershipChanged(users.map((userId) => ({ conversationId: 42, userId, added: true })));
      await f.processes[0]!.broadcaster.toUser(3, 'participantRemoved', { conversation_id: 42, user_id: 3, removed_by: 1 });
      for (const p of f.processes) {
        await eventually(() => p.delivery.delivered.some((d) => d.kind === 'user'));
        const changes = p.delivery.delivered.flatMap((d) => (d.kind === 'membership' ? [d.change] : []));
        expect(changes.map((c) => c.userId)).toEqual(users);
        expect(changes.every((c) => c.conversationId === 42 && c.added)).toBe(true);
        expect(p.observed.map((c) => c.userId)).toEqual(users);
        // Sent after the changes, delivered after them.
        expect(p.delivery.delivered.at(-1)).toEqual({
          kind: 'user',
          userId: 3,
          event: 'participantRemoved',
          data: { conversation_id: 42, user_id: 3, removed_by: 1 },
        });
      }
    });
  });
}
