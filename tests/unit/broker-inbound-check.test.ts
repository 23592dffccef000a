import { describe, expect, it } from 'vitest';
import { acceptInbound, MAX_INBOUND_BYTES } from '../../src/adapters/fanout/broker-common/inbound-check.js';
import { RecordingInbound } from '../support/brokers.js';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('inbound broker messages', () => {
  it('hands a topic and its UTF-8 text to the engine, up to the size cap', () => {
    const inbound = new RecordingInbound();
    acceptInbound(inbound, 'c.12', bytes('{"t":"é"}'));
    acceptInbound(inbound, 'all', new Uint8Array(MAX_INBOUND_BYTES).fill(0x20));
    expect(inbound.messages.map((m) => [m.topic, m.payload.length])).toEqual([
      ['c.12', 9],
      ['all', MAX_INBOUND_BYTES],
    ]);
    expect(inbound.rejections).toEqual([]);
  });

  it('rejects what is not a topic, not UTF-8 or over the cap, and delivers none of it', () => {
    const inbound = new RecordingInbound();
    for (const topic of [null, 'c.0', 'c.01', 'x.1', 'c.1.2', 'c.*', 'u.12345678901234567']) acceptInbound(inbound, topic, bytes('{}'));
    acceptInbound(inbound, 'c.1', new Uint8Array([0xc3, 0x28]));
    acceptInbound(inbound, 'c.1', new Uint8Array(MAX_INBOUND_BYTES + 1).fill(0x20));
    expect(inbound.messages).toEqual([]);
    expect(inbound.rejections).toEqual([...Array(7).fill('foreign subject'), 'payload not UTF-8', 'payload too large']);
  });

  it('never throws into the client library, even when the engine’s handler does', () => {
    const inbound = new RecordingInbound();
    inbound.message = () => {
      throw new Error('engine bug');
    };
    expect(() => acceptInbound(inbound, 'c.1', bytes('{}'))).not.toThrow();
  });
});
