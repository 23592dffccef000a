import { type ChatError } from './chat-error.js';
import { newClientId } from './client-id.js';
import type { ErrorCode, Message, PendingMessage, SendMessageData } from './types.js';

/** What `sendMessage` hands back at once: the optimistic message, and its acknowledgement to come. */
export interface PendingSend {
  readonly pending: PendingMessage;
  /** The stored message; rejects with a ChatError only when retrying cannot help. */
  readonly acked: Promise<Message>;
}

export interface PendingSendsOptions {
  /** Sends one `sendMessage` request; rejects with `DISCONNECTED` when there is no connection. */
  readonly send: (data: SendMessageData) => Promise<Message>;
  /** Called with each acknowledged message (to deliver it like a push). */
  readonly acked: (message: Message) => void;
  /** The pending messages of a conversation changed. */
  readonly changed: (conversationId: number) => void;
  readonly isOpen: () => boolean;
  /** The wait before the n-th retry after a transient error, in ms. */
  readonly retryDelay: (retry: number) => number;
  /** Why the server would refuse this send outright (a frame too large), or null. */
  readonly refusal: (data: SendMessageData) => ChatError | null;
}

interface Entry {
  readonly message: PendingMessage;
  resolve(message: Message): void;
  reject(error: ChatError): void;
  inFlight: boolean;
  retries: number;
  timer: ReturnType<typeof setTimeout> | null;
}

/** Failures a send survives: it stays pending and goes again with the same client_id. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['OVERLOADED', 'SERVICE_UNAVAILABLE', 'RATE_LIMITED', 'TIMEOUT', 'INTERNAL']);

/**
 * Messages sent but not acknowledged yet, by `client_id`. Each goes out again
 * after every reconnect and after transient errors, always with the same
 * `client_id` (the server stores it once), until an ack, a push or a catch-up
 * page carries that `client_id`.
 */
export class PendingSends {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: PendingSendsOptions) {}

  add(input: Omit<SendMessageData, 'client_id'> & { client_id?: string }): PendingSend {
    const message: PendingMessage = {
      client_id: input.client_id ?? newClientId(),
      conversation_id: input.conversation_id,
      content: input.content ?? '',
      type: input.type ?? 'text',
      attachment: input.attachment ?? null,
      created_at: new Date().toISOString(),
    };
    let entry!: Entry;
    const acked = new Promise<Message>((resolve, reject) => {
      entry = { message, resolve, reject, inFlight: false, retries: 0, timer: null };
    });
    acked.catch(() => undefined); // a caller that ignores the outcome must not leave a rejection unhandled
    const refusal = this.options.refusal(message);
    if (refusal) {
      entry.reject(refusal);
      return { pending: message, acked };
    }
    this.entries.set(message.client_id, entry);
    this.options.changed(message.conversation_id);
    if (this.options.isOpen()) this.transmit(entry);
    return { pending: message, acked };
  }

  list(conversationId: number): PendingMessage[] {
    return [...this.entries.values()].filter((e) => e.message.conversation_id === conversationId).map((e) => e.message);
  }

  /** A stored message arrived by any route: settles the pending one with its `client_id`. */
  settle(message: Message): void {
    const entry = message.client_id === null ? undefined : this.entries.get(message.client_id);
    if (!entry || entry.message.conversation_id !== message.conversation_id) return;
    this.entries.delete(entry.message.client_id);
    if (entry.timer) clearTimeout(entry.timer);
    entry.resolve(message);
    this.options.changed(message.conversation_id);
  }

  /** A connection opened: everything not in flight or waiting to retry goes now. */
  resendAll(): void {
    for (const entry of this.entries.values()) this.transmit(entry);
  }

  /** The connection dropped: nothing is in flight any more. */
  connectionLost(): void {
    for (const entry of this.entries.values()) entry.inFlight = false;
  }

  failAll(error: ChatError): void {
    const conversations = new Set<number>();
    for (const entry of this.entries.values()) {
      if (entry.timer) clearTimeout(entry.timer);
      entry.reject(error);
      conversations.add(entry.message.conversation_id);
    }
    this.entries.clear();
    for (const id of conversations) this.options.changed(id);
  }

  private transmit(entry: Entry): void {
    if (entry.inFlight || entry.timer) return;
    entry.inFlight = true;
    const { client_id, conversation_id, content, type, attachment } = entry.message;
    this.options.send({ client_id, conversation_id, content, type, ...(attachment ? { attachment } : {}) }).then(
      (stored) => this.options.acked(stored),
      (error: ChatError) => {
        entry.inFlight = false;
        if (this.entries.get(client_id) !== entry || error.code === 'DISCONNECTED') return; // settled, or goes again on reconnect
        if (RETRYABLE.has(error.code)) {
          entry.timer = setTimeout(() => {
            entry.timer = null;
            if (this.options.isOpen()) this.transmit(entry);
          }, this.options.retryDelay(entry.retries++));
          return;
        }
        this.entries.delete(client_id);
        entry.reject(error);
        this.options.changed(conversation_id);
      },
    );
  }
}
