import { ContainerModule } from 'inversify';
import { beforeEach, describe, expect, it } from 'vitest';
import { InMemoryBroadcaster } from '../../src/adapters/memory/in-memory-broadcaster.js';
import { loadConfig } from '../../src/bootstrap/config.js';
import { buildContainer, coreModule, inMemoryModule, resolve, useCasesModule } from '../../src/bootstrap/container.js';
import { id, TOKENS } from '../../src/bootstrap/tokens.js';
import type { UseCases } from '../../src/application/use-cases.js';
import { actorOf, type Actor } from '../../src/domain/user.js';
import { silentLogger } from '../support/silent-logger.js';

let u: UseCases;
let broadcaster: InMemoryBroadcaster;

beforeEach(() => {
  broadcaster = new InMemoryBroadcaster();
  const config = loadConfig({ NODE_ENV: 'test', PASSWORD_HASH_COST: '1024', MAX_CONTENT_LENGTH: '20' });
  const container = buildContainer(
    coreModule(config, silentLogger, 'unit-secret'),
    inMemoryModule(),
    new ContainerModule(({ bind }) => {
      bind(id(TOKENS.Broadcaster)).toConstantValue(broadcaster);
    }),
    useCasesModule(),
  );
  u = resolve(container, TOKENS.UseCases);
});

let k = 0;
async function register(): Promise<Actor> {
  const r = await u.registerUser.execute({ email: `p${++k}@x.io`, username: `p${k}`, password: 'password', role: 'tenant' });
  if (!r.ok) throw new Error(r.error.code);
  return actorOf(r.value.user);
}

describe('use cases over in-memory adapters', () => {
  it('registers and logs in; a wrong password and an unknown user fail alike', async () => {
    await register();
    const ok = await u.logIn.execute({ email: `P${k}@X.io`, password: 'password' });
    expect(ok.ok).toBe(true);
    const wrong = await u.logIn.execute({ username: `p${k}`, password: 'nope' });
    const unknown = await u.logIn.execute({ username: 'ghost', password: 'nope' });
    expect(wrong).toEqual(unknown);
    expect(wrong.ok ? null : wrong.error.code).toBe('INVALID_CREDENTIALS');
    if (ok.ok) expect((await u.authenticate.execute(ok.value.token.token)).ok).toBe(true);
  });

  it('broadcasts a sent message once, and not a repeat of its client id', async () => {
    const [a, b] = [await register(), await register()];
    const c = await u.createConversation.execute(a, { participant_ids: [b.id], is_open: false });
    if (!c.ok) throw new Error();
    const conversation_id = c.value.conversation.id;
    const first = await u.sendMessage.execute(a, { conversation_id, content: 'hi', type: 'text', client_id: 'x' });
    const again = await u.sendMessage.execute(a, { conversation_id, content: 'hi', type: 'text', client_id: 'x' });
    expect(first.ok && again.ok && again.value.message.id === first.value.message.id && !again.value.created).toBe(true);
    expect(broadcaster.events('receiveMessage')).toHaveLength(1);
  });

  it('checks the content limit and the attachment rule before storing anything', async () => {
    const [a, b] = [await register(), await register()];
    const c = await u.createConversation.execute(a, { participant_ids: [b.id], is_open: false });
    if (!c.ok) throw new Error();
    const long = await u.sendMessage.execute(a, { conversation_id: c.value.conversation.id, content: 'x'.repeat(21), type: 'text' });
    expect(long.ok ? null : long.error.code).toBe('CONTENT_TOO_LONG');
    const video = await u.sendMessage.execute(a, { conversation_id: c.value.conversation.id, content: '', type: 'video' });
    expect(video.ok ? null : video.error.code).toBe('VALIDATION_FAILED');
    const page = await u.getMessages.execute(a, c.value.conversation.id, { limit: 10 });
    expect(page.ok && page.value.messages).toEqual([]);
  });

  it('orders membership changes so the member hears of them: subscribe then announce; tell then unsubscribe', async () => {
    const [a, b, c] = [await register(), await register(), await register()];
    const g = await u.createConversation.execute(a, { participant_ids: [b.id], title: 'g', is_open: false });
    if (!g.ok) throw new Error();
    const gid = g.value.conversation.id;
    broadcaster.recorded.length = 0;
    expect((await u.addParticipant.execute(b, gid, c.id)).ok).toBe(true);
    expect(broadcaster.recorded.map((r) => r.kind)).toEqual(['membership', 'conversation']);
    broadcaster.recorded.length = 0;
    expect((await u.removeParticipant.execute(b, gid, c.id)).ok ? 'ok' : 'refused').toBe('refused');
    expect((await u.removeParticipant.execute(a, gid, c.id)).ok).toBe(true);
    expect(broadcaster.recorded.map((r) => r.kind)).toEqual(['user', 'membership', 'conversation']);
  });

  it('lets staff delete anyone’s message but not edit it', async () => {
    const [a, b] = [await register(), await register()];
    const staff: Actor = { ...(await register()), isStaff: true };
    const c = await u.createConversation.execute(a, { participant_ids: [b.id], is_open: false });
    if (!c.ok) throw new Error();
    const m = await u.sendMessage.execute(a, { conversation_id: c.value.conversation.id, content: 'hi', type: 'text' });
    if (!m.ok) throw new Error();
    const edit = await u.editMessage.execute(staff, { message_id: m.value.message.id, content: 'no' });
    expect(edit.ok ? null : edit.error.code).toBe('NOT_A_PARTICIPANT');
    expect((await u.deleteMessage.execute(staff, m.value.message.id)).ok).toBe(true);
  });

  it('marks read: the marker only moves forward and others get a receipt', async () => {
    const [a, b] = [await register(), await register()];
    const c = await u.createConversation.execute(a, { participant_ids: [b.id], is_open: false });
    if (!c.ok) throw new Error();
    const cid = c.value.conversation.id;
    const m1 = await u.sendMessage.execute(a, { conversation_id: cid, content: 'one', type: 'text' });
    const m2 = await u.sendMessage.execute(a, { conversation_id: cid, content: 'two', type: 'text' });
    if (!m1.ok || !m2.ok) throw new Error();
    await u.markRead.execute(b, { conversation_id: cid, message_id: m2.value.message.id });
    await u.markRead.execute(b, { conversation_id: cid, message_id: m1.value.message.id });
    const [summary] = await u.listConversations.execute(b);
    expect(summary?.unreadCount).toBe(0);
    expect(broadcaster.events('readReceipt')).toHaveLength(2);
    const other = await u.markRead.execute(b, { conversation_id: cid + 1000, message_id: m1.value.message.id });
    expect(other.ok ? null : other.error.code).toBe('CONVERSATION_NOT_FOUND');
  });
});
