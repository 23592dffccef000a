import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/bootstrap/config.js';
import {
  buildContainer,
  coreModule,
  deliveryModule,
  inMemoryModule,
  fanoutModule,
  realtimeModule,
  resolve,
  useCasesModule,
  pushModule,
} from '../../src/bootstrap/container.js';
import { TOKENS } from '../../src/bootstrap/tokens.js';
import { LocalBroker } from '../../src/adapters/fanout/local/local-broker.js';
import type { UseCases } from '../../src/application/use-cases.js';
import type { Result } from '../../src/domain/result.js';
import { actorOf, type Actor } from '../../src/domain/user.js';
import { RecordingDelivery } from '../support/recording-delivery.js';
import { silentLogger } from '../support/silent-logger.js';

const DEVICE = { label: 'unit test', ip: null };
let u: UseCases;
let delivery: RecordingDelivery;

beforeEach(async () => {
  delivery = new RecordingDelivery();
  const config = loadConfig({ NODE_ENV: 'test', PASSWORD_HASH_MEMORY_KIB: '1024', PASSWORD_HASH_TIME_COST: '1', MAX_CONTENT_LENGTH: '20' });
  const container = buildContainer(
    coreModule(config, silentLogger, 'unit-secret'),
    inMemoryModule(),
    deliveryModule(delivery),
    fanoutModule(config, { nodeId: 'unit', lanes: 1, lanePositions: async () => [0], broker: new LocalBroker() }),
    realtimeModule(config),
    pushModule('unit-vapid-key', () => null),
    useCasesModule(config),
  );
  u = resolve(container, TOKENS.UseCases);
  await resolve(container, TOKENS.FanoutEngine).start();
});

/** The value of a result that must have succeeded (the test fails with the code otherwise). */
function value<T>(result: Result<T>): T {
  expect(result.ok ? 'ok' : result.error.code).toBe('ok');
  if (!result.ok) throw new Error('unreachable');
  return result.value;
}
const codeOf = <T>(result: Result<T>): string => (result.ok ? 'ok' : result.error.code);

let k = 0;
async function register(): Promise<Actor> {
  const r = await u.registerUser.execute({ email: `p${++k}@x.io`, username: `p${k}`, password: 'password', role: 'tenant' }, DEVICE);
  if (!r.ok) throw new Error(r.error.code);
  return actorOf(r.value.user);
}

describe('use cases over in-memory adapters', () => {
  it('registers and logs in; a wrong password and an unknown user fail alike', async () => {
    await register();
    const session = value(await u.logIn.execute({ email: `P${k}@X.io`, password: 'password' }, DEVICE));
    const wrong = await u.logIn.execute({ username: `p${k}`, password: 'nope' }, DEVICE);
    const unknown = await u.logIn.execute({ username: 'ghost', password: 'nope' }, DEVICE);
    expect(wrong).toEqual(unknown);
    expect(codeOf(wrong)).toBe('INVALID_CREDENTIALS');
    expect(value(await u.authenticate.execute(session.token.token))).toMatchObject({ user: { id: session.user.id }, sessionId: session.sessionId });
  });

  it('broadcasts a sent message once, and not a repeat of its client id', async () => {
    const [a, b] = [await register(), await register()];
    const conversation_id = value(await u.createConversation.execute(a, { participant_ids: [b.id], is_open: false })).conversation.id;
    const first = value(await u.sendMessage.execute(a, { conversation_id, content: 'hi', type: 'text', client_id: 'x' }));
    const again = value(await u.sendMessage.execute(a, { conversation_id, content: 'hi', type: 'text', client_id: 'x' }));
    expect([again.message.id, again.created]).toEqual([first.message.id, false]);
    expect(delivery.events('receiveMessage').map((m) => m.id)).toEqual([first.message.id]);
  });

  it('checks the content limit and the attachment rule before storing anything', async () => {
    const [a, b] = [await register(), await register()];
    const cid = value(await u.createConversation.execute(a, { participant_ids: [b.id], is_open: false })).conversation.id;
    expect(codeOf(await u.sendMessage.execute(a, { conversation_id: cid, content: 'x'.repeat(21), type: 'text' }))).toBe('CONTENT_TOO_LONG');
    expect(codeOf(await u.sendMessage.execute(a, { conversation_id: cid, content: '', type: 'video' }))).toBe('VALIDATION_FAILED');
    expect(codeOf(await u.sendMessage.execute(a, { conversation_id: cid, content: 'no url', type: 'image' }))).toBe('VALIDATION_FAILED');
    expect(codeOf(await u.sendMessage.execute(a, { conversation_id: cid, content: 'ftp://x.io/a', type: 'file' }))).toBe('VALIDATION_FAILED');
    expect(value(await u.getMessages.execute(a, cid, { limit: 10 })).messages).toEqual([]);
  });

  it('takes the URL in the content of media sent without an attachment as its attachment, and keeps the content', async () => {
    const [a, b] = [await register(), await register()];
    const cid = value(await u.createConversation.execute(a, { participant_ids: [b.id], is_open: false })).conversation.id;
    const sent = value(await u.sendMessage.execute(a, { conversation_id: cid, content: 'https://x.io/a.png', type: 'image' })).message;
    expect(sent).toMatchObject({ type: 'image', content: 'https://x.io/a.png', attachment: { url: 'https://x.io/a.png' } });
    expect(delivery.events('receiveMessage').at(-1)).toMatchObject({ id: sent.id, attachment: { url: 'https://x.io/a.png' } });
  });

  it('orders membership changes so the member hears of them: subscribe then announce; on removal, every cache forgets before the removed member is told (directly)', async () => {
    const [a, b, c] = [await register(), await register(), await register()];
    const gid = value(await u.createConversation.execute(a, { participant_ids: [b.id], title: 'g', is_open: false })).conversation.id;
    delivery.clear();
    value(await u.addParticipant.execute(b, gid, c.id));
    expect(delivery.delivered.map((d) => d.kind)).toEqual(['membership', 'publish']);
    delivery.clear();
    expect(codeOf(await u.removeParticipant.execute(b, gid, c.id))).toBe('FORBIDDEN');
    value(await u.removeParticipant.execute(a, gid, c.id));
    expect(delivery.delivered.map((d) => d.kind)).toEqual(['membership', 'user', 'publish']);
  });

  it('lets staff delete anyone’s message, but not edit it even as a participant (only the sender edits)', async () => {
    const a = await register();
    const staff: Actor = { ...(await register()), isStaff: true };
    const gid = value(await u.createConversation.execute(a, { participant_ids: [staff.id], title: 'with staff', is_open: false })).conversation.id;
    const m = value(await u.sendMessage.execute(a, { conversation_id: gid, content: 'hi', type: 'text' }));
    expect(codeOf(await u.editMessage.execute(staff, { message_id: m.message.id, content: 'no' }))).toBe('NOT_MESSAGE_SENDER');
    expect(value(await u.deleteMessage.execute(staff, m.message.id))).toEqual({ id: m.message.id });
  });

  it('lets staff delete a message of a conversation they are not in (what docs/API.md and the OpenAPI summary say)', async () => {
    const [a, b] = [await register(), await register()];
    const staff: Actor = { ...(await register()), isStaff: true };
    const cid = value(await u.createConversation.execute(a, { participant_ids: [b.id], is_open: false })).conversation.id;
    const m = value(await u.sendMessage.execute(a, { conversation_id: cid, content: 'hi', type: 'text' }));
    expect(value(await u.deleteMessage.execute(staff, m.message.id))).toEqual({ id: m.message.id });
  });

  it('marks read: the marker only moves forward and others get a receipt', async () => {
    const [a, b] = [await register(), await register()];
    const cid = value(await u.createConversation.execute(a, { participant_ids: [b.id], is_open: false })).conversation.id;
    const m1 = value(await u.sendMessage.execute(a, { conversation_id: cid, content: 'one', type: 'text' })).message;
    const m2 = value(await u.sendMessage.execute(a, { conversation_id: cid, content: 'two', type: 'text' })).message;
    expect(value(await u.markRead.execute(b, { conversation_id: cid, message_id: m2.id })).message_id).toBe(m2.id);
    expect(value(await u.markRead.execute(b, { conversation_id: cid, message_id: m1.id })).message_id).toBe(m1.id);
    const [summary] = value(await u.listConversations.execute(b, { limit: 50 })).conversations;
    expect(summary?.unreadCount).toBe(0);
    expect(delivery.events('readReceipt').map((r) => [r.user_id, r.message_id])).toEqual([
      [b.id, m2.id],
      [b.id, m1.id],
    ]);
    expect(codeOf(await u.markRead.execute(b, { conversation_id: cid + 1000, message_id: m1.id }))).toBe('CONVERSATION_NOT_FOUND');
  });
});
