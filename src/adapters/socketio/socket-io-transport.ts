import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import type { Actor } from '../../domain/user.js';
import type { MembershipChange, PushEvent } from '../../application/ports/broadcaster.js';
import type { Logger } from '../../application/ports/services.js';
import type { UseCases } from '../../application/use-cases.js';
import { chatEvents, dispatch, type Outcome } from '../protocol/chat-events.js';
import { fromThrown, type WireError } from '../protocol/wire-error.js';
import type { FanoutSink } from '../realtime/local-hub.js';
import type { TemplatedApp } from '../uws/uws.js';
import { TokenBucket } from '../protocol/token-bucket.js';

export interface SocketIoTransportOptions {
  /** @default '/socket.io/' */
  readonly path?: string;
  /** Largest packet; a larger one disconnects the client (Engine.IO's rule). */
  readonly maxPacketBytes: number;
  /** Allowed browser origins; empty allows any. */
  readonly corsOrigins: readonly string[];
  readonly ratePerSecond: number;
  readonly rateBurst: number;
  readonly logger: Logger;
  readonly track: <T>(work: Promise<T>) => Promise<T>;
}

interface SocketState {
  actor: Actor;
  bucket: TokenBucket;
}

const conversationRoom = (id: number) => `c:${id}`;
const userRoom = (id: number) => `u:${id}`;

/**
 * The Socket.IO protocol of the backend this one replaces, for its existing
 * clients: the same events and payloads as /ws, answered through the
 * acknowledgement callback, delivered only to participants.
 */
export class SocketIoTransport implements FanoutSink {
  readonly io: Server;
  private readonly events: ReturnType<typeof chatEvents>;

  constructor(
    private readonly useCases: UseCases,
    private readonly options: SocketIoTransportOptions,
  ) {
    this.events = chatEvents(useCases);
    this.io = new Server({
      path: options.path ?? '/socket.io/',
      serveClient: false,
      maxHttpBufferSize: options.maxPacketBytes,
      cors: { origin: options.corsOrigins.length === 0 || options.corsOrigins.includes('*') ? true : [...options.corsOrigins] },
    });
    this.io.use((socket, next) => {
      this.authenticate(socket).then(() => next(), (error: Error) => next(error));
    });
    this.io.on('connection', (socket) => this.serve(socket));
  }

  /** Serves on the uWebSockets.js app (same port as /ws). */
  attachToApp(app: TemplatedApp): void {
    this.io.attachApp(app);
  }

  /** Serves on a Node HTTP server (the original stack). */
  attachToHttpServer(server: HttpServer): void {
    this.io.attach(server);
  }

  publish(conversationId: number, event: PushEvent, dataJson: string): void {
    this.emitTo(conversationRoom(conversationId), event, dataJson);
  }

  sendToUser(userId: number, event: PushEvent, dataJson: string): void {
    this.emitTo(userRoom(userId), event, dataJson);
  }

  /** Most events have no Socket.IO listener at all: skip the parse then. */
  private emitTo(room: string, event: PushEvent, dataJson: string): void {
    if (!this.io.sockets.adapter.rooms.has(room)) return;
    this.io.to(room).emit(event, JSON.parse(dataJson));
  }

  membership(change: MembershipChange): void {
    const sockets = this.io.in(userRoom(change.userId));
    if (change.added) sockets.socketsJoin(conversationRoom(change.conversationId));
    else sockets.socketsLeave(conversationRoom(change.conversationId));
  }

  connectedUserIds(): number[] {
    return [...this.io.sockets.sockets.values()].map((s) => (s.data as SocketState).actor.id);
  }

  followedConversationIds(): number[] {
    const ids = new Set<number>();
    for (const room of this.io.sockets.adapter.rooms.keys()) if (room.startsWith('c:')) ids.add(Number(room.slice(2)));
    return [...ids];
  }

  reconcile(userId: number, conversationIds: readonly number[]): void {
    const wanted = new Set(conversationIds.map(conversationRoom));
    for (const socket of this.io.sockets.sockets.values()) {
      if ((socket.data as SocketState).actor.id !== userId) continue;
      for (const room of socket.rooms) if (room.startsWith('c:') && !wanted.has(room)) void socket.leave(room);
      void socket.join([...wanted]);
    }
  }

  close(): void {
    this.io.disconnectSockets(true);
    this.io.engine?.close();
  }

  private async authenticate(socket: Socket): Promise<void> {
    const auth = socket.handshake.auth as { token?: unknown } | undefined;
    const query = socket.handshake.query;
    const token = typeof auth?.token === 'string' ? auth.token : typeof query.token === 'string' ? query.token : null;
    if (!token && query.userId !== undefined) {
      throw refusal({ code: 'UNAUTHORIZED', message: 'A userId without a token is not accepted; connect with auth: { token }' });
    }
    let opened;
    try {
      opened = await this.useCases.openConnection.execute(token);
    } catch (error) {
      this.options.logger.error({ err: error }, 'socket.io handshake failed');
      throw refusal(fromThrown(error));
    }
    if (!opened.ok) throw refusal(opened.error);
    const state: SocketState = { actor: opened.value.actor, bucket: new TokenBucket(this.options.ratePerSecond, this.options.rateBurst) };
    socket.data = state;
    await socket.join([userRoom(state.actor.id), ...opened.value.conversationIds.map(conversationRoom)]);
  }

  private serve(socket: Socket): void {
    const state = socket.data as SocketState;
    const log = this.options.logger.child({ transport: 'socket.io', userId: state.actor.id });
    socket.onAny((event: unknown, ...args: unknown[]) => {
      const callback = typeof args.at(-1) === 'function' ? (args.pop() as (answer: unknown) => void) : null;
      const answer = (outcome: Outcome) => callback?.(toAnswer(String(event), outcome));
      if (typeof event !== 'string') return answer({ ok: false, error: { code: 'INVALID_FRAME', message: 'event must be a string' } });
      if (!state.bucket.take()) return answer({ ok: false, error: { code: 'RATE_LIMITED', message: 'Too many events; slow down' } });
      const data = args[0];
      if (data !== undefined && (data === null || typeof data !== 'object' || Array.isArray(data))) {
        return answer({ ok: false, error: { code: 'VALIDATION_FAILED', message: 'data must be an object' } });
      }
      void this.options.track(dispatch(this.events, state.actor, event, data, (error) => log.error({ err: error, event }, 'event failed')).then(answer));
    });
  }
}

/** What the original clients read: `{success, message}` for sends, `{success, data}` otherwise. */
function toAnswer(event: string, outcome: Outcome): object {
  if (!outcome.ok) return { success: false, error: outcome.error };
  return event === 'sendMessage' ? { success: true, message: outcome.data } : { success: true, data: outcome.data };
}

function refusal(error: WireError): Error {
  return Object.assign(new Error(error.message), { data: { code: error.code } });
}
