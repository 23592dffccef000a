import { afterEach, describe, expect, it, vi } from 'vitest';
import { PresenceState, type PresenceEvents } from '../../client/presence-state.js';
import { TypingThrottle } from '../../client/typing-throttle.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('TypingThrottle', () => {
  it('sends one true per conversation every 3 s however often it is told, and a false only after a true', () => {
    let now = 0;
    const sent: Array<[number, boolean]> = [];
    const throttle = new TypingThrottle(
      (id, isTyping) => sent.push([id, isTyping]),
      3_000,
      () => now,
    );
    throttle.typing(7, false);
    throttle.typing(7, true);
    throttle.typing(8, true);
    now = 2_999;
    throttle.typing(7, true);
    expect(sent).toEqual([
      [7, true],
      [8, true],
    ]);
    now = 3_000;
    throttle.typing(7, true);
    throttle.typing(7, false);
    throttle.typing(7, false);
    throttle.typing(7, true);
    expect(sent).toEqual([
      [7, true],
      [8, true],
      [7, true],
      [7, false],
      [7, true],
    ]);
    throttle.reset();
    throttle.typing(7, false);
    throttle.typing(7, true);
    expect(sent.slice(5)).toEqual([[7, true]]);
  });
});

describe('PresenceState', () => {
  const typingChanges = (state: PresenceState) => {
    const seen: Array<PresenceEvents['typingChanged']> = [];
    state.on('typingChanged', (t) => seen.push(t));
    return seen;
  };

  it('ends a typing indicator 6 s after its last renewal, and a renewal emits nothing', () => {
    vi.useFakeTimers();
    const state = new PresenceState();
    const seen = typingChanges(state);
    state.applyTyping({ conversation_id: 7, user_id: 2, is_typing: true });
    vi.advanceTimersByTime(4_000);
    state.applyTyping({ conversation_id: 7, user_id: 2, is_typing: true });
    vi.advanceTimersByTime(5_999);
    expect(state.typing(7)).toEqual([2]);
    expect(seen).toEqual([{ conversation_id: 7, user_ids: [2] }]);
    vi.advanceTimersByTime(1);
    expect(state.typing(7)).toEqual([]);
    expect(seen).toEqual([
      { conversation_id: 7, user_ids: [2] },
      { conversation_id: 7, user_ids: [] },
    ]);
  });

  it('ends one typist on their false or their message in that conversation, leaving the others', () => {
    vi.useFakeTimers();
    const state = new PresenceState();
    for (const user_id of [2, 3, 4]) state.applyTyping({ conversation_id: 7, user_id, is_typing: true });
    state.applyTyping({ conversation_id: 8, user_id: 3, is_typing: true });
    state.applyTyping({ conversation_id: 7, user_id: 2, is_typing: false });
    state.applyMessage({ conversation_id: 7, sender_id: 3 } as never);
    expect([state.typing(7), state.typing(8)]).toEqual([[4], [3]]);
    state.clearTyping();
    expect([state.typing(7), state.typing(8)]).toEqual([[], []]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('learns presence only from participants that carry it, and emits only real changes', () => {
    const state = new PresenceState();
    const seen: Array<PresenceEvents['presenceChanged']> = [];
    state.on('presenceChanged', (p) => seen.push(p));
    state.applyParticipants([
      { id: 2, username: 'ben' },
      { id: 3, username: 'cat', online: true, last_seen_at: null },
    ]);
    state.applyPresence({ user_id: 3, online: true, last_seen_at: null });
    state.applyPresence({ user_id: 3, online: false, last_seen_at: '2026-01-01T00:00:00.000Z' });
    expect(state.of(2)).toBeUndefined();
    expect(state.isOnline(2)).toBe(false);
    expect(state.of(3)).toEqual({ user_id: 3, online: false, last_seen_at: '2026-01-01T00:00:00.000Z' });
    expect(seen.map((p) => p.online)).toEqual([true, false]);
  });
});
