import WebSocket from 'ws';
import type { ChatClient, ClientEvents, PresenceEvents } from '../../client/chat-client.js';
import { checkFrame, checkResponse } from './api-conformance.js';

/**
 * The fetch and WebSocket a ChatClient under test is given: they check every
 * REST response and /ws frame it receives against the API documents, as the
 * tests' own HttpClient and WsClient do.
 */
export const checkedFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  const text = await response.clone().text();
  const body = text && response.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : text || undefined;
  checkResponse(init?.method ?? 'GET', String(input), response.status, body);
  return response;
};

/** The `ws` package's WebSocket, checking what it receives and recording the events it sends. */
export class CheckedWebSocket extends WebSocket {
  /** Every frame the client sent, parsed. */
  readonly sent: Array<{ event: string; data?: any; ack?: number | string }> = [];
  private readonly requested = new Map<unknown, string>();

  constructor(url: string) {
    super(url);
    this.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as { event: string; ack?: unknown };
      const requested = frame.ack === undefined ? undefined : this.requested.get(frame.ack);
      if (frame.ack !== undefined && (frame.event === 'ack' || frame.event === 'error')) this.requested.delete(frame.ack);
      checkFrame(frame, requested);
    });
  }

  override send(data: string, ...rest: unknown[]): void {
    const frame = JSON.parse(data) as { event: string; ack?: number | string };
    this.sent.push(frame);
    if (frame.ack !== undefined) this.requested.set(frame.ack, frame.event);
    (super.send as (...args: unknown[]) => void)(data, ...rest);
  }
}

/** The next event of this name that matches (only those emitted from now on). */
export function nextEvent<E extends keyof ClientEvents>(client: ChatClient, event: E, match: (p: ClientEvents[E]) => boolean = () => true, timeoutMs = 10_000) {
  return new Promise<ClientEvents[E]>((resolve, reject) => {
    const timer = setTimeout(() => (off(), reject(new Error(`no ${event} within ${timeoutMs} ms`))), timeoutMs);
    const off = client.on(event, (payload) => {
      if (!match(payload)) return;
      clearTimeout(timer);
      off();
      resolve(payload);
    });
  });
}

/** The next change of the client's presence state that matches (from now on). */
export function nextPresenceEvent<E extends keyof PresenceEvents>(client: ChatClient, event: E, match: (p: PresenceEvents[E]) => boolean, timeoutMs = 10_000) {
  return new Promise<PresenceEvents[E]>((resolve, reject) => {
    const timer = setTimeout(() => (off(), reject(new Error(`no matching ${event} within ${timeoutMs} ms`))), timeoutMs);
    const off = client.presence.on(event, (payload) => {
      if (!match(payload)) return;
      clearTimeout(timer);
      off();
      resolve(payload);
    });
  });
}
