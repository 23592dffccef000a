import { describe, expect, it } from 'vitest';
import type { FanoutState } from '../../src/adapters/fanout/engine/fanout-engine.js';
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
  /** The conversations its observers were told to forget (`conversationChanged`), in order. */
  readonly forgotten: number[];
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
  /** Ways to break this fan-out, for the tests of what it recovers from (see ContractTraits). */
  readonly faults?: FanoutFaults;
}

/** What a fixture's broker can be made to suffer. */
export interface FanoutFaults {
  /** The next message batch `processes[index]` publishes is lost, as when its broker connection drops between commit and publish. */
  loseNextMessagePublish(index: number): void;
  /** How many message publishes were lost that way so far. */
  readonly lostPublishes: number;
  /** The engines' wait for a batch's predecessor before reading it from the database. */
  readonly gapWaitMs: number;
  /** The engines' period of comparing followed conversations with the database. */
  readonly checkMs: number;
  /** SIGKILL of the broker server, then start it again on the same port. */
  killBroker(): Promise<void>;
  restartBroker(): Promise<void>;
  /** Each process's fan-out state, as `/readyz` shows it. */
  states(): FanoutState[];
}

/** What a broker is, so the contract runs the tests that apply to it (the others are skipped, named as such). */
export interface ContractTraits {
  /** Processes publish messages after they commit (NATS, Redis), so a publish can be lost: the database fills the gap. */
  readonly publishesAfterCommit?: boolean;
  /** The broker is a server of its own, which can be killed and restarted. */
  readonly brokerServer?: boolean;
}

const faultsOf = (f: FanoutFixture): FanoutFaults => {
  if (!f.faults) throw new Error('this fixture declares traits it offers no faults for');
  return f.faults;
};

export const observing = (observed: MembershipChange[], forgotten: number[]): FanoutObserver => ({
  membershipChanged: (c) => observed.push(c),
  conversationChanged: (id) => forgotten.push(id),
});

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
export function broadcasterContract(name: string, fresh: () => Promise<FanoutFixture>, traits: ContractTraits = {}) {
  const received = (p: FanoutProcess, event: string, conversationId?: number) =>
    p.delivery.delivered.filter(
      (d) => d.kind === 'publish' && d.event === event && (conversationId === undefined || d.conversationIds.includes(conversationId)),
    );
  /** The ids of the messages a process was handed in one conversation, in order. */
  const messageIds = (p: FanoutProcess, conversationId: number) =>
    received(p, 'receiveMessage', conversationId).map((d) => (d as { data: { id: number } }).data.id);

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

    it('tells every process’s observers of conversations whose cached state changed (the sender’s at once, again when its own notice returns)', async () => {
      const f = await fresh();
      await followAll(f, [], [3]);
      await f.processes[0]!.broadcaster.conversationsChanged([5, 6]);
      await f.processes[0]!.broadcaster.toUser(3, 'participantRemoved', { conversation_id: 5, user_id: 3, removed_by: 1 });
      for (const p of f.processes) {
        // Sent after the change, delivered after it.
        await eventually(() => p.delivery.delivered.some((d) => d.kind === 'user'));
        expect([...new Set(p.forgotten)]).toEqual([5, 6]);
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

    it.runIf(traits.publishesAfterCommit)(
      'delivers a message whose publish was lost, once and in order, when the next message of its conversation shows the gap',
      async () => {
        const f = await fresh();
        const faults = faultsOf(f);
        const c = await f.conversation();
        await followAll(f, [c.id]);
        const [sender, receiver] = [f.processes[0]!, f.processes[1]!];
        const send = async (content: string) => (await sender.appender.append(draft(c.id, c.userIds[0]!, content))).message!.id;
        const first = await send('first');
        await eventually(() => messageIds(receiver, c.id).includes(first));
        faults.loseNextMessagePublish(0);
        const lost = await send('lost');
        const next = await send('next');
        await eventually(() => messageIds(receiver, c.id).includes(next));
        expect(faults.lostPublishes).toBe(1);
        for (const p of f.processes) expect(messageIds(p, c.id)).toEqual([first, lost, next]);
        expect(received(receiver, 'receiveMessage', c.id)[1]).toMatchObject({ data: { id: lost, content: 'lost' } });
      },
    );

    it.runIf(traits.publishesAfterCommit)(
      'delivers a message whose publish was lost and that nothing follows, once, within about twice the check period',
      async () => {
        const f = await fresh();
        const faults = faultsOf(f);
        const c = await f.conversation();
        await followAll(f, [c.id]);
        const [sender, receiver] = [f.processes[0]!, f.processes[1]!];
        const send = async (content: string) => (await sender.appender.append(draft(c.id, c.userIds[0]!, content))).message!.id;
        const first = await send('first');
        await eventually(() => messageIds(receiver, c.id).includes(first));
        faults.loseNextMessagePublish(0);
        const started = Date.now();
        const lost = await send('lost');
        await eventually(() => messageIds(receiver, c.id).includes(lost), 5_000);
        const tookMs = Date.now() - started;
        expect(faults.lostPublishes).toBe(1);
        // Two checks in a row must see the gap: up to two periods, plus two reads of the database.
        expect(tookMs).toBeLessThan(2 * faults.checkMs + 300);
        // Once: a later message arrives after it, and it is still there once.
        const later = await send('later');
        await eventually(() => messageIds(receiver, c.id).includes(later));
        for (const p of f.processes) expect(messageIds(p, c.id)).toEqual([first, lost, later]);
      },
    );

    it.runIf(traits.brokerServer)(
      'replays the messages appended on both processes while the broker server was killed, once and in order, as it comes back',
      async () => {
        const f = await fresh();
        const faults = faultsOf(f);
        const c = await f.conversation();
        await followAll(f, [c.id]);
        const send = async (p: FanoutProcess, content: string) => (await p.appender.append(draft(c.id, c.userIds[0]!, content))).message!.id;
        const sent = [await send(f.processes[0]!, 'before')];
        await eventually(() => f.processes.every((p) => messageIds(p, c.id).includes(sent[0]!)));
        const before = faults.states();
        await faults.killBroker();
        await eventually(() => faults.states().every((s) => s.state === 'down'));
        for (let i = 0; i < 10; i++) sent.push(await send(f.processes[i % 2]!, `while down ${i}`));
        await faults.restartBroker();
        await eventually(() => faults.states().every((s, k) => s.state === 'live' && s.outages === before[k]!.outages + 1), 20_000);
        // A last message once both are back: when it has arrived everywhere, so has anything that could be doubled.
        sent.push(await send(f.processes[1]!, 'after'));
        for (const p of f.processes) await eventually(() => messageIds(p, c.id).includes(sent.at(-1)!));
        for (const p of f.processes) expect(messageIds(p, c.id)).toEqual(sent);
        // Replayed by the catch-up before going live again, not left for a later gap to reveal.
        expect(faults.states().map((s) => s.gapsFilled)).toEqual(before.map((s) => s.gapsFilled));
      },
      30_000,
    );
  });
}
