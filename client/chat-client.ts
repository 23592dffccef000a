import { ChatError } from './chat-error.js';
import { newClientId } from './client-id.js';
import { backoffDelay, shouldReconnect, type BackoffOptions } from './reconnect-policy.js';
import { RestApi } from './rest-api.js';
import { Timeline } from './timeline.js';
import type {
  ClientEvents,
  Conversation,
  ConversationSummary,
  CreateConversationInput,
  ErrorCode,
  LogInInput,
  Message,
  MessagePage,
  PendingMessage,
  PushEvents,
  ReadMarker,
  RegisterInput,
  Requests,
  SendMessageData,
  ServerFrame,
  Session,
  StateChange,
  User,
  WebSocketConstructor,
  WebSocketLike,
} from './types.js';

export type * from './types.js';
export { ChatError } from './chat-error.js';
export { backoffDelay, FINAL_CLOSE_CODES, shouldReconnect, type BackoffOptions } from './reconnect-policy.js';

export interface ChatClientOptions {
  /** The server's HTTP origin, e.g. `https://chat.example.com`. @default the page's origin */
  readonly baseUrl?: string;
  /** A token from an earlier session; `register` and `logIn` set one too. */
  readonly token?: string;
  /** The WebSocket implementation (in Node.js 20, the `ws` package's). @default globalThis.WebSocket */
  readonly WebSocket?: WebSocketConstructor;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Reconnect delays. @default { baseMs: 500, capMs: 30000 } */
  readonly backoff?: BackoffOptions;
  /** How long a request waits for its answer, in ms. @default 15000 */
  readonly requestTimeoutMs?: number;
  /** The server's MAX_FRAME_BYTES: a larger send fails at once instead of getting the socket closed. @default 65536 */
  readonly maxFrameBytes?: number;
  /** Where the back-off jitter comes from. @default Math.random */
  readonly random?: () => number;
}

/** What `sendMessage` hands back at once: the optimistic message, and its acknowledgement to come. */
export interface PendingSend {
  readonly pending: PendingMessage;
  /** The stored message; rejects with a ChatError only when retrying cannot help. */
  readonly acked: Promise<Message>;
}

interface Waiting {
  resolve(data: unknown): void;
  reject(error: ChatError): void;
  readonly timer: ReturnType<typeof setTimeout>;
}

interface PendingEntry {
  readonly message: PendingMessage;
  resolve(message: Message): void;
  reject(error: ChatError): void;
  inFlight: boolean;
  retries: number;
  timer: ReturnType<typeof setTimeout> | null;
}

/** Failures a send survives: it stays pending and goes again with the same client_id. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['OVERLOADED', 'SERVICE_UNAVAILABLE', 'RATE_LIMITED', 'TIMEOUT', 'INTERNAL']);
/** Failures after which a followed conversation cannot be caught up. */
const GONE: ReadonlySet<ErrorCode> = new Set(['NOT_A_PARTICIPANT', 'CONVERSATION_NOT_FOUND']);
/** WebSocket.OPEN, the same in every implementation. */
const OPEN = 1;

type Listener<E extends keyof ClientEvents> = (payload: ClientEvents[E]) => void;

/**
 * A client of the chat server for browsers and Node.js: the REST API, the
 * `/ws` protocol with acknowledged requests and typed pushes, optimistic sends
 * that survive reconnects, and reconnection with full-jitter back-off followed
 * by a `since` catch-up of the conversations it follows (docs/PROTOCOL.md,
 * "Reconnecting"). It delivers each message once as `receiveMessage`.
 */
export class ChatClient {
  private readonly baseUrl: string;
  private readonly api: RestApi;
  private readonly WS: WebSocketConstructor;
  private readonly requestTimeoutMs: number;
  private readonly maxFrameBytes: number;
  private readonly random: () => number;
  private readonly backoff: BackoffOptions;
  private tokenValue: string | null;
  private userValue: User | null = null;
  private socket: WebSocketLike | null = null;
  private stateValue: StateChange = { state: 'idle' };
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private nextAck = 1;
  private readonly waiting = new Map<number, Waiting>();
  private readonly pending = new Map<string, PendingEntry>();
  private readonly timelines = new Map<number, Timeline>();
  private readonly followed = new Set<number>();
  private readonly catchingUp = new Set<number>();
  private readonly listeners = new Map<keyof ClientEvents, Set<(payload: never) => void>>();
  private openWaiters: Array<{ resolve(): void; reject(error: ChatError): void }> = [];

  constructor(options: ChatClientOptions = {}) {
    const g = globalThis as { location?: { origin: string }; WebSocket?: WebSocketConstructor };
    const baseUrl = options.baseUrl ?? g.location?.origin;
    if (!baseUrl) throw new TypeError('ChatClient needs a baseUrl outside a browser');
    const WS = options.WebSocket ?? g.WebSocket;
    if (!WS) throw new TypeError('ChatClient needs a WebSocket implementation (pass the ws package in Node.js 20)');
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.WS = WS;
    this.api = new RestApi(this.baseUrl, options.fetch ?? globalThis.fetch.bind(globalThis), () => this.tokenValue);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
    this.maxFrameBytes = options.maxFrameBytes ?? 65_536;
    this.random = options.random ?? Math.random;
    this.backoff = options.backoff ?? {};
    this.tokenValue = options.token ?? null;
  }

  get token(): string | null {
    return this.tokenValue;
  }

  /** The signed-in user, once `register`, `logIn` or `me` has answered. */
  get user(): User | null {
    return this.userValue;
  }

  get state(): StateChange {
    return this.stateValue;
  }

  on<E extends keyof ClientEvents>(event: E, listener: Listener<E>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => set.delete(listener as (payload: never) => void);
  }

  // ---- REST ----

  async register(input: RegisterInput): Promise<Session> {
    return this.signedIn(await this.api.register(input));
  }

  async logIn(input: LogInInput): Promise<Session> {
    return this.signedIn(await this.api.logIn(input));
  }

  async me(): Promise<User> {
    return (this.userValue = await this.api.me());
  }

  /** The caller's conversations, most recent activity first, with last message and unread count. */
  listConversations(): Promise<ConversationSummary[]> {
    return this.api.listConversations();
  }

  /** One other participant makes (or finds) a direct conversation; more, a title or `is_open` make a group. */
  createConversation(input: CreateConversationInput): Promise<Conversation> {
    return this.api.createConversation(input);
  }

  /**
   * A page of history, ascending; `before` pages backwards (pass the oldest id
   * shown). The newest page (no `before`) counts as delivered, so a push of one
   * of its messages racing the page is not delivered again.
   */
  async history(conversationId: number, page: { before?: number; limit?: number } = {}): Promise<MessagePage> {
    const result = await this.api.messages(conversationId, page);
    if (page.before === undefined) for (const m of result.messages) this.timeline(conversationId).add(m.id);
    return result;
  }

  // ---- The realtime connection ----

  /**
   * Opens `/ws` and keeps it open, reconnecting after drops. Resolves once
   * connected; rejects with `UNAUTHORIZED` when the server refuses the token,
   * or `CLOSED` when `close()` comes first.
   */
  connect(): Promise<void> {
    if (this.stateValue.state === 'open') return Promise.resolve();
    if (!this.tokenValue) return Promise.reject(new ChatError('UNAUTHORIZED', 'Log in or register first'));
    const opened = new Promise<void>((resolve, reject) => this.openWaiters.push({ resolve, reject }));
    if (this.stateValue.state === 'idle' || this.stateValue.state === 'closed') {
      this.attempt = 0;
      this.dial();
    }
    return opened;
  }

  /** Closes the connection for good: no reconnect; pending sends and open requests reject with `CLOSED`. */
  close(): void {
    this.stop({ state: 'closed', reason: 'client' }, new ChatError('CLOSED', 'The client was closed'));
  }

  /**
   * Catches the conversation up after every (re)connect, from the newest id
   * the caller has (`since`, e.g. the last message of the history it shows);
   * at once too when connected. Caught-up messages arrive as `receiveMessage`.
   */
  follow(conversationId: number, since: number): void {
    this.followed.add(conversationId);
    this.timeline(conversationId).resetCursor(since);
    if (this.stateValue.state === 'open') void this.catchUp(conversationId);
  }

  unfollow(conversationId: number): void {
    this.followed.delete(conversationId);
    this.timelines.get(conversationId)?.stopSyncing();
  }

  /** The id a catch-up of this conversation would start after. */
  lastSeenId(conversationId: number): number {
    return this.timelines.get(conversationId)?.cursor ?? 0;
  }

  pendingMessages(conversationId: number): PendingMessage[] {
    return [...this.pending.values()].filter((e) => e.message.conversation_id === conversationId).map((e) => e.message);
  }

  /**
   * Sends optimistically: the message is pending at once, and is sent now or
   * as soon as a connection opens, again after every reconnect and after
   * transient errors, always with the same `client_id`, until acknowledged.
   */
  sendMessage(input: Omit<SendMessageData, 'client_id'> & { client_id?: string }): PendingSend {
    const message: PendingMessage = {
      client_id: input.client_id ?? newClientId(),
      conversation_id: input.conversation_id,
      content: input.content ?? '',
      type: input.type ?? 'text',
      attachment: input.attachment ?? null,
      created_at: new Date().toISOString(),
    };
    let entry!: PendingEntry;
    const acked = new Promise<Message>((resolve, reject) => {
      entry = { message, resolve, reject, inFlight: false, retries: 0, timer: null };
    });
    acked.catch(() => undefined); // a caller that ignores the outcome must not leave a rejection unhandled
    if (longerThan(JSON.stringify({ event: 'sendMessage', data: message, ack: Number.MAX_SAFE_INTEGER }), this.maxFrameBytes)) {
      entry.reject(new ChatError('FRAME_TOO_LARGE', `The message is larger than ${this.maxFrameBytes} bytes`));
      return { pending: message, acked };
    }
    this.pending.set(message.client_id, entry);
    this.emitPending(message.conversation_id);
    if (this.stateValue.state === 'open') this.transmit(entry);
    return { pending: message, acked };
  }

  editMessage(messageId: number, content: string): Promise<Message> {
    return this.request('editMessage', { message_id: messageId, content });
  }

  deleteMessage(messageId: number): Promise<{ id: number }> {
    return this.request('deleteMessage', { message_id: messageId });
  }

  markRead(conversationId: number, messageId: number): Promise<ReadMarker> {
    return this.request('markRead', { conversation_id: conversationId, message_id: messageId });
  }

  /** Any client event, answered through its ack; rejects with `DISCONNECTED` when not connected. */
  request<E extends keyof Requests>(event: E, data: Requests[E]['data']): Promise<Requests[E]['result']> {
    const socket = this.socket;
    if (!socket || this.stateValue.state !== 'open' || socket.readyState !== OPEN) return Promise.reject(new ChatError('DISCONNECTED', 'Not connected'));
    const ack = this.nextAck++;
    const frame = JSON.stringify({ event, data, ack });
    if (longerThan(frame, this.maxFrameBytes)) {
      return Promise.reject(new ChatError('FRAME_TOO_LARGE', `The frame is larger than ${this.maxFrameBytes} bytes`));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(ack);
        reject(new ChatError('TIMEOUT', `No answer to ${event} within ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs);
      this.waiting.set(ack, { resolve: resolve as (data: unknown) => void, reject, timer });
      socket.send(frame);
    });
  }

  // ---- Internals ----

  private signedIn(session: Session): Session {
    this.tokenValue = session.token;
    this.userValue = session.user;
    return session;
  }

  private dial(): void {
    this.setState({ state: 'connecting' });
    let socket: WebSocketLike;
    try {
      socket = new this.WS(`${this.baseUrl.replace(/^http/, 'ws')}/ws?token=${encodeURIComponent(this.tokenValue ?? '')}`);
    } catch {
      void this.lost(1006, false);
      return;
    }
    this.socket = socket;
    let opened = false;
    socket.addEventListener('open', () => {
      if (this.socket !== socket) return;
      opened = true;
      this.onOpen();
    });
    socket.addEventListener('message', (event) => {
      if (this.socket === socket) this.onFrame(event.data);
    });
    socket.addEventListener('close', (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      void this.lost(event.code, opened);
    });
    socket.addEventListener('error', () => undefined); // a close event follows every error
  }

  private onOpen(): void {
    this.attempt = 0;
    this.setState({ state: 'open' });
    const waiters = this.openWaiters;
    this.openWaiters = [];
    for (const w of waiters) w.resolve();
    for (const id of this.followed) void this.catchUp(id);
    for (const entry of this.pending.values()) this.transmit(entry);
  }

  /** The connection closed (or never opened): fail what waited on it, then retry or stop. */
  private async lost(closeCode: number, opened: boolean): Promise<void> {
    this.failWaiting(new ChatError('DISCONNECTED', `The connection closed (${closeCode}) before the answer came`));
    for (const entry of this.pending.values()) entry.inFlight = false;
    if (!shouldReconnect(closeCode)) return this.stop({ state: 'closed', reason: 'refused', closeCode }, new ChatError('UNAUTHORIZED', `The server closed the connection (${closeCode})`));
    // A browser cannot see the status of a refused upgrade, so ask REST whether the token still works.
    if (!opened && (await this.tokenRefused())) {
      return this.stop({ state: 'closed', reason: 'unauthorized', closeCode }, new ChatError('UNAUTHORIZED', 'The server refused the token'));
    }
    if (this.stateValue.state === 'closed') return; // closed while asking
    const delayMs = backoffDelay(this.attempt, this.backoff, this.random);
    this.attempt += 1;
    this.setState({ state: 'reconnecting', attempt: this.attempt, delayMs, closeCode });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.dial();
    }, delayMs);
  }

  private async tokenRefused(): Promise<boolean> {
    try {
      await this.api.me();
      return false;
    } catch (error) {
      return error instanceof ChatError && error.status === 401;
    }
  }

  private stop(state: StateChange, error: ChatError): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, 'Client closed');
    this.failWaiting(new ChatError(error.code === 'CLOSED' ? 'CLOSED' : 'DISCONNECTED', error.message));
    const conversations = new Set<number>();
    for (const entry of this.pending.values()) {
      if (entry.timer) clearTimeout(entry.timer);
      entry.reject(error);
      conversations.add(entry.message.conversation_id);
    }
    this.pending.clear();
    for (const id of conversations) this.emitPending(id);
    const waiters = this.openWaiters;
    this.openWaiters = [];
    for (const w of waiters) w.reject(error);
    this.setState(state);
  }

  private failWaiting(error: ChatError): void {
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.reject(error);
    }
    this.waiting.clear();
  }

  private onFrame(raw: unknown): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(typeof raw === 'string' ? raw : String(raw)) as ServerFrame;
    } catch {
      return;
    }
    if (frame.ack !== undefined && (frame.event === 'ack' || frame.event === 'error')) {
      const w = this.waiting.get(frame.ack as number);
      if (!w) return;
      this.waiting.delete(frame.ack as number);
      clearTimeout(w.timer);
      if (frame.error) w.reject(new ChatError(frame.error.code, frame.error.message, frame.error.details));
      else w.resolve(frame.data);
      return;
    }
    if (frame.event === 'error') return; // every request carries an ack, so an error without one answers nothing of ours
    if (frame.event === 'receiveMessage') return void this.deliver(frame.data as Message, 'push');
    if (frame.event === 'participantRemoved') {
      const notice = frame.data as ClientEvents['participantRemoved'];
      if (notice.user_id === this.userValue?.id) this.unfollow(notice.conversation_id);
    }
    // Events this version does not know yet still reach listeners registered for them.
    this.emit(frame.event as keyof PushEvents, frame.data as never);
  }

  /** Every message enters here, whichever way it came, and is delivered once; true the first time. */
  private deliver(message: Message, source: 'push' | 'ack' | 'catch-up'): boolean {
    const timeline = this.timeline(message.conversation_id);
    const fresh = timeline.add(message.id);
    if (source === 'push') timeline.pushed(message.id);
    if (fresh) this.emit('receiveMessage', message);
    const entry = message.client_id === null ? undefined : this.pending.get(message.client_id);
    if (entry && entry.message.conversation_id === message.conversation_id) {
      this.pending.delete(message.client_id!);
      if (entry.timer) clearTimeout(entry.timer);
      entry.resolve(message);
      this.emitPending(message.conversation_id);
    }
    return fresh;
  }

  private transmit(entry: PendingEntry): void {
    if (entry.inFlight || entry.timer) return;
    entry.inFlight = true;
    const { client_id, conversation_id, content, type, attachment } = entry.message;
    this.request('sendMessage', { client_id, conversation_id, content, type, ...(attachment ? { attachment } : {}) }).then(
      (stored) => void this.deliver(stored, 'ack'),
      (error: ChatError) => {
        entry.inFlight = false;
        if (this.pending.get(client_id) !== entry || error.code === 'DISCONNECTED') return; // settled, or goes again on reconnect
        if (RETRYABLE.has(error.code)) {
          entry.timer = setTimeout(() => {
            entry.timer = null;
            if (this.stateValue.state === 'open') this.transmit(entry);
          }, backoffDelay(entry.retries++, this.backoff, this.random));
          return;
        }
        this.pending.delete(client_id);
        entry.reject(error);
        this.emitPending(conversation_id);
      },
    );
  }

  /** `joinConversation` with `since`, page after page, until the server has nothing newer. */
  private async catchUp(conversationId: number): Promise<void> {
    if (this.catchingUp.has(conversationId)) return;
    this.catchingUp.add(conversationId);
    try {
      await this.catchUpPages(conversationId);
    } finally {
      this.catchingUp.delete(conversationId);
    }
  }

  private async catchUpPages(conversationId: number): Promise<void> {
    const timeline = this.timeline(conversationId);
    timeline.startSync();
    let since = timeline.cursor;
    let delivered = 0;
    try {
      for (;;) {
        const page = await this.request('joinConversation', { conversation_id: conversationId, since });
        for (const m of page.messages) if (this.deliver(m, 'catch-up')) delivered += 1;
        const last = page.messages.at(-1);
        if (last) since = last.id;
        if (!page.has_more || !last) break;
      }
    } catch (error) {
      timeline.abortSync(since);
      if (!(error instanceof ChatError) || error.code === 'DISCONNECTED' || error.code === 'CLOSED') return; // the next open tries again
      if (GONE.has(error.code)) return this.unfollow(conversationId);
      // A transient failure while connected: try again shortly, the gap stays open meanwhile.
      setTimeout(() => {
        if (this.stateValue.state === 'open' && this.followed.has(conversationId) && timeline.isSyncing) void this.catchUp(conversationId);
      }, backoffDelay(1, this.backoff, this.random));
      return;
    }
    timeline.finishSync(since);
    this.emit('synced', { conversation_id: conversationId, messages: delivered });
  }

  private timeline(conversationId: number): Timeline {
    let t = this.timelines.get(conversationId);
    if (!t) this.timelines.set(conversationId, (t = new Timeline()));
    return t;
  }

  private emitPending(conversationId: number): void {
    this.emit('pending', { conversation_id: conversationId, messages: this.pendingMessages(conversationId) });
  }

  private setState(state: StateChange): void {
    this.stateValue = state;
    this.emit('state', state);
  }

  private emit<E extends keyof ClientEvents>(event: E, payload: ClientEvents[E]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        (listener as Listener<E>)(payload);
      } catch (error) {
        setTimeout(() => {
          throw error; // a failing listener is the application's bug: report it, but keep the client going
        });
      }
    }
  }
}

/** Whether the UTF-8 form of `text` exceeds `bytes`; encodes only when it might (a UTF-16 unit takes at most 3 bytes). */
function longerThan(text: string, bytes: number): boolean {
  return text.length * 3 > bytes && new TextEncoder().encode(text).length > bytes;
}
