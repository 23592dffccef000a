import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { webhooksOf } from '../../src/application/webhooks/webhook-dispatcher.js';
import { signWebhook, webhookSecretProblem } from '../../src/adapters/outbound/webhook-signature.js';

describe('the webhooks of a stream event', () => {
  const createdAt = new Date('2026-12-03T12:00:00Z');

  it('is one webhook with id evt_<stream id> for most types', () => {
    const data = { id: 42, conversation_id: 7, content: 'hi' };
    expect(webhooksOf({ id: 42, conversationId: 7, type: 'message.created', data, createdAt })).toEqual([
      { id: 'evt_42', type: 'message.created', timestamp: createdAt, data },
    ]);
  });

  it('is one webhook per recipient for message.unread, with id evt_<id>_<user id> and data {user_id, conversation_id, message}', () => {
    const message = { id: 42, conversation_id: 7, content: 'hi' };
    expect(webhooksOf({ id: 50, conversationId: 7, type: 'message.unread', data: { message, user_ids: [3, 9] }, createdAt })).toEqual([
      { id: 'evt_50_3', type: 'message.unread', timestamp: createdAt, data: { user_id: 3, conversation_id: 7, message } },
      { id: 'evt_50_9', type: 'message.unread', timestamp: createdAt, data: { user_id: 9, conversation_id: 7, message } },
    ]);
  });
});

describe('Standard Webhooks signatures', () => {
  it('sign id.timestamp.body with the base64-decoded key after whsec_', () => {
    const key = Buffer.from('0123456789abcdef0123456789abcdef');
    const secret = `whsec_${key.toString('base64')}`;
    const expected = createHmac('sha256', key).update('evt_1.1700000000.{"a":1}').digest('base64');
    expect(signWebhook(secret, 'evt_1', 1_700_000_000, '{"a":1}')).toBe(`v1,${expected}`);
  });

  it('accept secrets of 24 to 64 bytes in the whsec_ form only', () => {
    expect(webhookSecretProblem(`whsec_${Buffer.alloc(24).toString('base64')}`)).toBeNull();
    expect(webhookSecretProblem(`whsec_${Buffer.alloc(64).toString('base64')}`)).toBeNull();
    expect(webhookSecretProblem(`whsec_${Buffer.alloc(23).toString('base64')}`)).toMatch(/24 to 64 bytes/);
    expect(webhookSecretProblem(`whsec_${Buffer.alloc(65).toString('base64')}`)).toMatch(/24 to 64 bytes/);
    expect(webhookSecretProblem(Buffer.alloc(32).toString('base64'))).toMatch(/must start with whsec_/);
    expect(webhookSecretProblem('whsec_not base64!')).toMatch(/followed by base64/);
  });
});
