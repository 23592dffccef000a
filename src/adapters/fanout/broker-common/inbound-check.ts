import { isTopic, type BrokerInbound } from '../engine/broker.js';

/** Larger inbound payloads are rejected unread: no chat event comes near it. */
export const MAX_INBOUND_BYTES = 1024 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Checks one message as it came off a broker (untrusted: anyone with access
 * to the broker can publish under the prefix) and hands it to the engine, or
 * reports it as rejected. `topic` is the adapter's reading of the subject or
 * channel, `null` when it is not under the prefix. Never throws: it runs
 * inside the client library's callback.
 */
export function acceptInbound(inbound: BrokerInbound, topic: string | null, bytes: Uint8Array): void {
  try {
    if (topic === null || !isTopic(topic)) return inbound.rejected('foreign subject');
    if (bytes.byteLength > MAX_INBOUND_BYTES) return inbound.rejected('payload too large');
    let payload: string;
    try {
      payload = utf8.decode(bytes);
    } catch {
      return inbound.rejected('payload not UTF-8');
    }
    inbound.message(topic, payload);
  } catch {
    // The engine's handler failed: its problem to report; the client's read loop must go on.
  }
}
