import { describe, expect, it } from 'vitest';
import { SessionPeers } from '../../src/adapters/socketio/session-peers.js';

describe('SessionPeers: which worker owns an Engine.IO session', () => {
  it('names this worker in every new id, URL-safe and unique, and keeps its own sessions', () => {
    const peers = new SessionPeers('w0');
    const ids = Array.from({ length: 100 }, () => peers.generateId());
    expect(new Set(ids).size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^w0\.[A-Za-z0-9_-]{20}$/);
    expect(peers.ownerOf(ids[0]!)).toBeNull();
  });

  it('points a peer’s session at its loopback port, and a session of a worker not running at `gone`', () => {
    const peers = new SessionPeers('w0');
    peers.update({ w0: 4000, w1: 4001 });
    expect(peers.ownerOf('w1.abc')).toEqual({ port: 4001 });
    expect(peers.ownerOf('w2.abc')).toBe('gone');
    // The directory is replaced, not merged: a worker that left is gone.
    peers.update({ w0: 4000 });
    expect(peers.ownerOf('w1.abc')).toBe('gone');
  });

  it('leaves ids that name no worker to Engine.IO (which answers them as unknown)', () => {
    const peers = new SessionPeers('w0');
    peers.update({ w1: 4001 });
    for (const sid of ['', 'abc', '.abc', 'A'.repeat(20)]) expect(peers.ownerOf(sid)).toBeNull();
  });
});
