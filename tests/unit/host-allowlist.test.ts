import { describe, expect, it } from 'vitest';
import { hostAllowed, hostPatterns } from '../../src/adapters/outbound/host-allowlist.js';

const allowed = (url: string, list: string) => hostAllowed(new URL(url), hostPatterns(list));

describe('the push services a subscription may name', () => {
  it('matches exact hosts and hosts under a *. pattern, case-insensitively, and nothing that merely ends alike', () => {
    const list = 'fcm.googleapis.com, *.push.services.mozilla.com,,';
    expect(allowed('https://fcm.googleapis.com/fcm/send/x', list)).toBe(true);
    expect(allowed('https://FCM.googleapis.com/x', list)).toBe(true);
    expect(allowed('https://updates.push.services.mozilla.com/wpush/v2/x', list)).toBe(true);
    expect(allowed('https://push.services.mozilla.com/x', list)).toBe(false);
    expect(allowed('https://evilpush.services.mozilla.com/x', list)).toBe(false);
    expect(allowed('https://fcm.googleapis.com.evil.example/x', list)).toBe(false);
    expect(allowed('https://evil.example/fcm.googleapis.com', list)).toBe(false);
  });

  it('allows any host with *, and none with an empty list', () => {
    expect(allowed('https://anything.example/x', '*')).toBe(true);
    expect(allowed('https://anything.example/x', ' , ')).toBe(false);
  });
});
