import { describe, expect, it } from 'vitest';
import { decode, encodeConversationsChanged } from '../../src/adapters/fanout/engine/notification-codec.js';
import { RequestLimits } from '../../src/adapters/gateway/rate-limits.js';
import { displayNameSchema, reportSchema, updateProfileSchema } from '../../src/application/people/people-schemas.js';

describe('people: the pure parts', () => {
  it('carries a change of cached conversation state between processes, and drops a malformed one', () => {
    expect(decode(encodeConversationsChanged('node-1', [7, 9]))).toEqual({ t: 'k', conversations: [7, 9] });
    expect(decode('{"t":"k","n":"x","c":[]}')).toBeNull();
    expect(decode('{"t":"k","n":"x","c":[0]}')).toBeNull();
    expect(decode('{"t":"k","n":"x","c":"7"}')).toBeNull();
  });

  it('normalises display names and refuses control and invisible characters', () => {
    expect(displayNameSchema.parse('  Ｂｏｂ  ')).toBe('Bob');
    for (const bad of ['', '   ', 'a\u0000b', 'admin\u202Egnp', 'zero\u200Bwidth', 'x'.repeat(101)]) {
      expect(displayNameSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it('accepts only http(s) picture URLs and known profile fields', () => {
    expect(updateProfileSchema.safeParse({ picture_url: 'https://example.com/a.png' }).success).toBe(true);
    expect(updateProfileSchema.safeParse({ picture_url: null }).success).toBe(true);
    expect(updateProfileSchema.safeParse({ picture_url: 'javascript:alert(1)' }).success).toBe(false);
    expect(updateProfileSchema.safeParse({ picture_url: 'data:image/png;base64,AAAA' }).success).toBe(false);
    expect(updateProfileSchema.safeParse({ username: 'renamed' }).success).toBe(false);
    expect(updateProfileSchema.safeParse({}).success).toBe(false);
  });

  it('bounds report reasons', () => {
    expect(reportSchema.safeParse({ reason: ' spam ' }).data).toEqual({ reason: 'spam' });
    expect(reportSchema.safeParse({ reason: '   ' }).success).toBe(false);
    expect(reportSchema.safeParse({ reason: 'x'.repeat(1001) }).success).toBe(false);
  });

  it('lets a user report five messages at once and then about one every three minutes (20 an hour)', () => {
    const limits = new RequestLimits({ loginPerIp: 0, registerPerIp: 0, restSendsPerUser: 0, conversationsPerUser: 0, reportsPerUserPerHour: 20 });
    const taken = Array.from({ length: 6 }, () => limits.take('report', 'u1'));
    expect(taken.slice(0, 5)).toEqual([null, null, null, null, null]);
    expect(taken[5]).toBeGreaterThanOrEqual(150);
    expect(limits.take('report', 'u2')).toBeNull();
  });
});
