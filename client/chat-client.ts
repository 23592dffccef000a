import { ChatError } from './chat-error.js';
import { Emitter, type Listener } from './emitter.js';
import { MessageFeed } from './message-feed.js';
import { PendingSends, type PendingSend } from './pending-sends.js';
import { PresenceState } from './presence-state.js';
import { backoffDelay, SESSION_ENDED, shouldReconnect, type BackoffOptions } from './reconnect-policy.js';
import { RestApi } from './rest-api.js';
import { TokenKeeper, type RefreshClock, type SessionSharing } from './token-keeper.js';
import { TypingThrottle } from './typing-throttle.js';
import type {
  ClientEvents,
  Conversation,
  ConversationPage,
  CreateConversationInput,
  DeviceSession,
  LogInInput,
  Message,
  MessagePage,
  Participant,
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
export type { PendingSend } from './pending-sends.js';
export { PresenceState, type PresenceEvents, type UserPresence } from './presence-state.js';
export { backoffDelay, FINAL_CLOSE_CODES, SESSION_ENDED, shouldReconnect, type BackoffOptions } from './reconnect-policy.js';
export { refreshDelay, type RefreshClock, type SessionSharing } from './token-keeper.js';

export interface ChatClientOptions {
  /** The server's HTTP origin, e.g. `https://chat.example.com`. @default the page's origin */
  readonly baseUrl?: string;
  /** An access token from an earlier run; `register`, `logIn` and `changePassword` set one too. */
  readonly token?: string;
  /** The refresh token that came with `token`: with it the client renews the access token itself. */
  readonly refreshToken?: string;
  /** The `expires_at` that came with `token`: it is then refreshed before it runs out, not after a refusal. */
  readonly expiresAt?: string;
  /** For clients holding one session together, such as browser tabs sharing localStorage. */
  readonly sessionSharing?: SessionSharing;
  /** The clock the refresh schedule runs on. @default Date.now and setTimeout */
  readonly refreshClock?: RefreshClock;
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

/** What a socket was opened with, to judge its close against what the client holds by then. */
interface Dialed {
  readonly token: string | null;
  readonly epoch: number;
}

interface Waiting {
  resolve(data: unknown): void;
  reject(error: ChatError): void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** WebSocket.OPEN, the same in every implementation. */
const OPEN = 1;

/**
 * A client of the chat server for browsers and Node.js: the REST API, the
 * `/ws` protocol with acknowledged requests and typed pushes, optimistic sends
 * that survive reconnects, and reconnection with full-jitter back-off followed
 * by a `since` catch-up of the conversations it follows (docs/PROTOCOL.md,
 * "Reconnecting"). It delivers each message once as `receiveMessage`.
 *
 * It keeps the session going: the access token is refreshed shortly before it
 * expires and whenever the server refuses it, each new pair announced as a
 * `session` event. The connection ends for good (state `closed`) when the
 * session does: `revoked` on close code 4001, `unauthorized` when the refresh
 * token is refused.
 */
export class ChatClient {
  private readonly baseUrl: string;
  private readonly api: RestApi;
  private readonly WS: WebSocketConstructor;
  private readonly requestTimeoutMs: number;
  private readonly maxFrameBytes: number;
  private readonly random: () => number;
  private readonly backoff: BackoffOptions;
  private readonly keeper: TokenKeeper;
  /** Moves with every new session (not with a refresh), to tell which one a socket belonged to. */
  private sessionEpoch = 0;
  /** A password change in flight: it ends the session its socket belongs to, and answers the next one. */
  private credentialChange: Promise<Session> | null = null;
  private loggingOut = false;
  private readonly presenceState = new PresenceState();
  private readonly typingOut: TypingThrottle;
  private userValue: User | null = null;
  private socket: WebSocketLike | null = null;
  private stateValue: StateChange = { state: 'idle' };
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private nextAck = 1;
  private readonly waiting = new Map<number, Waiting>();
  private readonly pending: PendingSends;
  private readonly feed: MessageFeed;
  private readonly events = new Emitter();
  /** Moves on every stop, so work that awaited across one knows it is stale. */
  private generation = 0;
  private openWaiters: Array<{ resolve(): void; reject(error: ChatError): void }> = [];

  constructor(options: ChatClientOptions = {}) {
    const g = globalThis as { location?: { origin: string }; WebSocket?: WebSocketConstructor };
    const baseUrl = options.baseUrl ?? g.location?.origin;
    if (!baseUrl) throw new TypeError('ChatClient needs a baseUrl outside a browser');
    const WS = options.WebSocket ?? g.WebSocket;
    if (!WS) throw new TypeError('ChatClient needs a WebSocket implementation (pass the ws package in Node.js 20)');
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.WS = WS;
    this.keeper = new TokenKeeper({
      refresh: (refreshToken) => this.api.refresh(refreshToken),
      changed: (session) => {
        this.userValue = session.user;
        this.events.emit('session', session);
      },
      ended: () => {
        if (!this.loggingOut) this.stop({ state: 'closed', reason: 'unauthorized' }, new ChatError('UNAUTHORIZED', 'The session has ended; sign in again'));
      },
      clock: options.refreshClock,
      sharing: options.sessionSharing,
    });
    if (options.token) this.keeper.restore({ token: options.token, refreshToken: options.refreshToken, expiresAt: options.expiresAt });
    this.api = new RestApi(this.baseUrl, options.fetch ?? globalThis.fetch.bind(globalThis), {
      token: () => this.keeper.token,
      renew: (stale) => this.keeper.renew(stale),
    });
    this.requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
    this.maxFrameBytes = options.maxFrameBytes ?? 65_536;
    this.random = options.random ?? Math.random;
    this.backoff = options.backoff ?? {};
    this.typingOut = new TypingThrottle((conversationId, isTyping) => {
      this.request('typing', { conversation_id: conversationId, is_typing: isTyping }).catch(() => undefined); // best effort
    });
    this.feed = new MessageFeed({
      join: async (data) => {
        const joined = await this.request('joinConversation', data);
        this.presenceState.applyParticipants(joined.conversation.participants);
        return joined;
      },
      fresh: (message) => {
        this.presenceState.applyMessage(message);
        this.events.emit('receiveMessage', message);
      },
      arrived: (message) => this.pending.settle(message),
      synced: (conversationId, delivered) => this.events.emit('synced', { conversation_id: conversationId, messages: delivered }),
      isOpen: () => this.stateValue.state === 'open',
      retryDelay: () => backoffDelay(1, this.backoff, this.random),
    });
    this.pending = new PendingSends({
      send: (data) => this.request('sendMessage', data),
      acked: (message) => void this.feed.deliver(message, 'ack'),
      changed: (conversationId) => this.events.emit('pending', { conversation_id: conversationId, messages: this.pending.list(conversationId) }),
      isOpen: () => this.stateValue.state === 'open',
      retryDelay: (retry) => backoffDelay(retry, this.backoff, this.random),
      refusal: (data) => this.oversized(JSON.stringify({ event: 'sendMessage', data, ack: Number.MAX_SAFE_INTEGER })),
    });
  }

  /** The access token in use. */
  get token(): string | null {
    return this.keeper.token;
  }

  get refreshToken(): string | null {
    return this.keeper.heldRefreshToken;
  }

  /** The signed-in user, once `register`, `logIn` or `me` has answered. */
  get user(): User | null {
    return this.userValue;
  }

  get state(): StateChange {
    return this.stateValue;
  }

  /** Who is online and who is typing, as far as this client has heard; it emits its own change events. */
  get presence(): PresenceState {
    return this.presenceState;
  }

  /** Listens to a push or to one of the client's own events; returns the function that stops listening. */
  on<E extends keyof ClientEvents>(event: E, listener: Listener<E>): () => void {
    return this.events.on(event, listener);
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

  /**
   * Ends this session on the server (its refresh token stops working) and
   * closes the client: state `closed`, reason `logged-out`. The client forgets
   * its tokens even when the server cannot be reached (the error is rethrown).
   */
  async logOut(): Promise<void> {
    // The socket goes first, so the server's 4001 for this session does not read as a revocation.
    this.stop({ state: 'closed', reason: 'logged-out' }, new ChatError('CLOSED', 'Logged out'));
    this.loggingOut = true;
    try {
      if (this.keeper.token) await this.api.logOut();
    } catch (error) {
      if (!(error instanceof ChatError && error.status === 401)) throw error; // a 401: the session had ended already
    } finally {
      this.loggingOut = false;
      this.keeper.clear();
      this.userValue = null;
    }
  }

  /** The user's signed-in devices; `current` marks this one. */
  async sessions(): Promise<DeviceSession[]> {
    return (await this.api.sessions()).sessions;
  }

  /** Ends one of the user's sessions; its connections close with 4001 (this client's own too, if it is this one). */
  async revokeSession(id: string): Promise<void> {
    await this.api.revokeSession(id);
  }

  /**
   * Changes the password. The server ends every session of the user, this one
   * included, and answers a new pair, which the client adopts: its own
   * connection, closed with the old session, opens again with the new one.
   */
  async changePassword(currentPassword: string, newPassword: string): Promise<Session> {
    const change = this.api.changePassword({ current_password: currentPassword, new_password: newPassword });
    this.credentialChange = change;
    try {
      return this.signedIn(await change);
    } finally {
      if (this.credentialChange === change) this.credentialChange = null;
    }
  }

  /** Asks for a password reset link by mail; resolves to the server's message, the same for every address. */
  async forgotPassword(email: string): Promise<string> {
    return (await this.api.forgotPassword(email)).message;
  }

  /** Sets a new password with the token of a mailed link (`RESET_TOKEN_INVALID` when it no longer works); sign in afterwards. */
  async resetPassword(token: string, password: string): Promise<void> {
    await this.api.resetPassword(token, password);
  }

  /** The participants of a conversation with their presence, which `presence` learns too. */
  async participants(conversationId: number): Promise<Participant[]> {
    const { participants } = await this.api.participants(conversationId);
    this.presenceState.applyParticipants(participants);
    return participants;
  }

  /** A page of the caller's conversations, most recent activity first, with last message and unread count. */
  listConversations(page: { limit?: number; cursor?: string } = {}): Promise<ConversationPage> {
    return this.api.listConversations(page);
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
    if (page.before === undefined) this.feed.seen(conversationId, result.messages);
    return result;
  }

  /**
   * Any authenticated REST route (docs/API.md), e.g. `rest('GET', '/users?query=an')`: JSON in and
   * out, a ChatError on failure, the token renewed once on a 401 like every other call.
   */
  rest<T>(method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
    return this.api.request<T>(method, path, body);
  }

  // ---- The realtime connection ----

  /**
   * Opens `/ws` and keeps it open, reconnecting after drops. Resolves once
   * connected; rejects with `UNAUTHORIZED` when the server refuses the token,
   * or `CLOSED` when `close()` comes first.
   */
  connect(): Promise<void> {
    if (this.stateValue.state === 'open') return Promise.resolve();
    if (!this.keeper.token) return Promise.reject(new ChatError('UNAUTHORIZED', 'Log in or register first'));
    const opened = new Promise<void>((resolve, reject) => this.openWaiters.push({ resolve, reject }));
    if (this.stateValue.state === 'idle' || this.stateValue.state === 'closed') {
      this.attempt = 0;
      this.keeper.start();
      this.open();
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
    this.feed.follow(conversationId, since);
  }

  unfollow(conversationId: number): void {
    this.feed.unfollow(conversationId);
  }

  /** The id a catch-up of this conversation would start after. */
  lastSeenId(conversationId: number): number {
    return this.feed.lastSeenId(conversationId);
  }

  pendingMessages(conversationId: number): PendingMessage[] {
    return this.pending.list(conversationId);
  }

  /**
   * Sends optimistically: the message is pending at once, and is sent now or
   * as soon as a connection opens, again after every reconnect and after
   * transient errors, always with the same `client_id`, until acknowledged.
   */
  sendMessage(input: Omit<SendMessageData, 'client_id'> & { client_id?: string }): PendingSend {
    this.typingOut.typing(input.conversation_id, false);
    return this.pending.add(input);
  }

  /**
   * Tells the other participants the user is typing (call it on every
   * keystroke: at most one announcement goes out every 3 s per conversation)
   * or stopped (`false`, e.g. the input was cleared; `sendMessage` does it).
   */
  sendTyping(conversationId: number, isTyping = true): void {
    this.typingOut.typing(conversationId, isTyping);
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
    const oversized = this.oversized(frame);
    if (oversized) return Promise.reject(oversized);
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

  /** The server would close the socket (1009) on a frame over its limit: refuse it here instead. */
  private oversized(frame: string): ChatError | null {
    // A UTF-16 unit takes at most 3 bytes in UTF-8, so short frames need no encoding to tell.
    const tooLong = frame.length * 3 > this.maxFrameBytes && new TextEncoder().encode(frame).length > this.maxFrameBytes;
    return tooLong ? new ChatError('FRAME_TOO_LARGE', `The frame is larger than ${this.maxFrameBytes} bytes`) : null;
  }

  private signedIn(session: Session): Session {
    this.sessionEpoch += 1;
    this.keeper.adopt(session);
    return session;
  }

  /** Dials, first renewing an access token about to expire: a refused upgrade would cost a round trip more. */
  private open(): void {
    if (!this.keeper.expiring()) return this.dial();
    const generation = this.generation;
    this.setState({ state: 'connecting' });
    const dial = () => void (generation === this.generation && this.dial());
    this.keeper.renew().then(dial, dial); // not renewed (offline?): the dial and the probe after it decide
  }

  private dial(): void {
    if (this.stateValue.state !== 'connecting') this.setState({ state: 'connecting' });
    const dialed: Dialed = { token: this.keeper.token, epoch: this.sessionEpoch };
    let socket: WebSocketLike;
    try {
      socket = new this.WS(`${this.baseUrl.replace(/^http/, 'ws')}/ws?token=${encodeURIComponent(dialed.token ?? '')}`);
    } catch {
      void this.lost(1006, false, dialed);
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
      void this.lost(event.code, opened, dialed);
    });
    socket.addEventListener('error', () => undefined); // a close event follows every error
  }

  private onOpen(): void {
    this.attempt = 0;
    this.setState({ state: 'open' });
    const waiters = this.openWaiters;
    this.openWaiters = [];
    for (const w of waiters) w.resolve();
    this.feed.catchUpAll();
    this.pending.resendAll();
  }

  /** The connection closed (or never opened): fail what waited on it, then retry or stop. */
  private async lost(closeCode: number, opened: boolean, dialed: Dialed): Promise<void> {
    const generation = this.generation;
    this.failWaiting(new ChatError('DISCONNECTED', `The connection closed (${closeCode}) before the answer came`));
    this.pending.connectionLost();
    this.typingOut.reset();
    if (closeCode === SESSION_ENDED) return this.sessionEnded(dialed.epoch);
    if (!shouldReconnect(closeCode))
      return this.stop({ state: 'closed', reason: 'refused', closeCode }, new ChatError('UNAUTHORIZED', `The server closed the connection (${closeCode})`));
    if (!opened) {
      // A browser cannot see the status of a refused upgrade, so ask REST whether the token still
      // works; asking renews it when it has expired.
      const refused = await this.tokenRefused();
      if (generation !== this.generation) return; // closed (or the session ended) while asking
      if (refused) return this.stop({ state: 'closed', reason: 'unauthorized', closeCode }, new ChatError('UNAUTHORIZED', 'The server refused the token'));
      if (this.keeper.token !== dialed.token) return this.dial(); // renewed: the refusal is answered, go again at once
    }
    const delayMs = backoffDelay(this.attempt, this.backoff, this.random);
    this.attempt += 1;
    this.setState({ state: 'reconnecting', attempt: this.attempt, delayMs, closeCode });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, delayMs);
  }

  /** Closed with 4001: final, unless a password change ended that session and answered a new one. */
  private async sessionEnded(epoch: number): Promise<void> {
    const generation = this.generation;
    if (this.credentialChange) {
      this.setState({ state: 'connecting' }); // the socket is gone; what comes next waits on the answer
      await this.credentialChange.catch(() => undefined);
    }
    if (generation !== this.generation) return;
    if (epoch !== this.sessionEpoch) return this.dial();
    this.stop(
      { state: 'closed', reason: 'revoked', closeCode: SESSION_ENDED },
      new ChatError('UNAUTHORIZED', 'The session was ended: logged out, revoked, or the password changed'),
    );
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
    this.generation += 1;
    this.feed.stop();
    this.keeper.stop();
    this.typingOut.reset();
    this.presenceState.clearTyping();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, 'Client closed');
    this.failWaiting(new ChatError(error.code === 'CLOSED' ? 'CLOSED' : 'DISCONNECTED', error.message));
    this.pending.failAll(error);
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
    if (frame.event === 'receiveMessage') return void this.feed.deliver(frame.data as Message, 'push');
    if (frame.event === 'presence') this.presenceState.applyPresence(frame.data as PushEvents['presence']);
    if (frame.event === 'typing') this.presenceState.applyTyping(frame.data as PushEvents['typing']);
    if (frame.event === 'participantRemoved') {
      const notice = frame.data as ClientEvents['participantRemoved'];
      if (notice.user_id === this.userValue?.id) this.feed.unfollow(notice.conversation_id);
    }
    // Events this version does not know yet still reach listeners registered for them.
    this.events.emit(frame.event as keyof PushEvents, frame.data as never);
  }

  private setState(state: StateChange): void {
    this.stateValue = state;
    this.events.emit('state', state);
  }
}
