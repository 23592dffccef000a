import type { Actor } from '../../domain/user.js';
import type { Logger } from '../../application/ports/services.js';
import type { UseCases } from '../../application/use-cases.js';
import { chatEvents, dispatch } from '../protocol/chat-events.js';
import { fromThrown, type WireError } from '../protocol/wire-error.js';
import type { CorsPolicy } from './cors.js';
import { bearer } from './rest-api.js';
import { TokenBucket } from '../protocol/token-bucket.js';
import type { TemplatedApp, WebSocket } from './uws.js';

/** Close codes this endpoint uses (see docs/PROTOCOL.md). */
export const CLOSE = {
  GOING_AWAY: 1001,
  MESSAGE_TOO_BIG: 1009,
  /** The connection fell more than WS_MAX_BACKPRESSURE_BYTES behind on what it is sent. */
  SLOW_CONSUMER: 4008,
} as const;

export interface Connection {
  readonly id: number;
  readonly actor: Actor;
  readonly conversationIds: number[];
  readonly bucket: TokenBucket;
  /** Built on first use: a logger per idle connection would cost more than the connection. */
  readonly logger: Logger;
  inFlight: number;
  closed: boolean;
}

export interface WsEndpointOptions {
  readonly maxFrameBytes: number;
  readonly idleTimeoutSeconds: number;
  readonly maxBackpressureBytes: number;
  readonly ratePerSecond: number;
  readonly rateBurst: number;
  /** Unanswered events one connection may have in flight. */
  readonly maxInFlight: number;
  readonly cors: CorsPolicy;
  readonly logger: Logger;
  readonly track: <T>(work: Promise<T>) => Promise<T>;
  readonly onOpen: (ws: WebSocket<Connection>) => void;
  readonly onClose: (ws: WebSocket<Connection>) => void;
}


/** The native protocol on /ws: JSON frames `{event, data, ack}` (docs/PROTOCOL.md). */
export function mountWsEndpoint(app: TemplatedApp, u: UseCases, o: WsEndpointOptions): void {
  const events = chatEvents(u);
  let nextId = 0;

  const send = (ws: WebSocket<Connection>, frame: string): void => {
    const conn = ws.getUserData();
    if (conn.closed) return;
    ws.cork(() => ws.send(frame, false));
  };
  const sendError = (ws: WebSocket<Connection>, ack: unknown, error: WireError): void =>
    send(ws, JSON.stringify(ack === undefined ? { event: 'error', error } : { event: 'error', ack, error }));

  app.ws<Connection>('/ws', {
    // Frames above the protocol's limit are closed with 1009 by the handler below;
    // uWS itself would drop larger ones with 1006 and no close frame.
    maxPayloadLength: Math.max(o.maxFrameBytes * 16, 1024 * 1024),
    idleTimeout: o.idleTimeoutSeconds,
    sendPingsAutomatically: true,
    // The transport closes slow consumers itself (4008) before uWS would start dropping.
    maxBackpressure: o.maxBackpressureBytes * 4,
    closeOnBackpressureLimit: 0,

    upgrade: (res, req, context) => {
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      const origin = req.getHeader('origin');
      const token = new URLSearchParams(req.getQuery() ?? '').get('token') ?? bearer(req.getHeader('authorization'));
      const refuse = (status: string, error: WireError) => {
        if (aborted) return;
        res.cork(() => res.writeStatus(status).writeHeader('Content-Type', 'application/json').end(JSON.stringify({ error })));
      };
      if (!o.cors.allows(origin)) {
        refuse('403 Forbidden', { code: 'ORIGIN_NOT_ALLOWED', message: 'This origin is not allowed' });
        return;
      }
      void o.track(
        u.openConnection.execute(token).then(
          (opened) => {
            if (aborted) return;
            if (!opened.ok) return refuse('401 Unauthorized', opened.error);
            const id = ++nextId;
            const actor = opened.value.actor;
            let logger: Logger | null = null;
            const conn: Connection = {
              id,
              actor,
              conversationIds: opened.value.conversationIds,
              bucket: new TokenBucket(o.ratePerSecond, o.rateBurst),
              get logger() {
                return (logger ??= o.logger.child({ connId: id, userId: actor.id }));
              },
              inFlight: 0,
              closed: false,
            };
            // Not inside res.cork(): with this uWS build, an upgrade made in a cork
            // after an await sometimes closed the new socket at once (1006).
            res.upgrade(conn, key, protocol, extensions, context);
          },
          (error: unknown) => {
            o.logger.error({ err: error }, 'upgrade failed');
            refuse('503 Service Unavailable', fromThrown(error));
          },
        ),
      );
    },

    open: (ws) => {
      const conn = ws.getUserData();
      o.onOpen(ws);
    },

    message: (ws, message, isBinary) => {
      const conn = ws.getUserData();
      if (message.byteLength > o.maxFrameBytes) {
        conn.logger.info({ bytes: message.byteLength }, 'frame over the limit; closing');
        ws.end(CLOSE.MESSAGE_TOO_BIG, 'Frame too large');
        return;
      }
      if (isBinary) return sendError(ws, undefined, { code: 'INVALID_FRAME', message: 'Frames must be JSON text' });
      let frame: unknown;
      try {
        frame = JSON.parse(Buffer.from(message).toString('utf8'));
      } catch {
        return sendError(ws, undefined, { code: 'INVALID_JSON', message: 'The frame is not valid JSON' });
      }
      if (frame === null || typeof frame !== 'object' || Array.isArray(frame)) {
        return sendError(ws, undefined, { code: 'INVALID_FRAME', message: 'A frame must be a JSON object' });
      }
      const { event, data, ack } = frame as { event?: unknown; data?: unknown; ack?: unknown };
      const validAck = ack === undefined || (typeof ack === 'number' && Number.isFinite(ack)) || (typeof ack === 'string' && ack.length <= 128);
      if (!validAck) return sendError(ws, undefined, { code: 'INVALID_FRAME', message: 'ack must be a number or a string of at most 128 characters' });
      if (typeof event !== 'string') return sendError(ws, ack, { code: 'INVALID_FRAME', message: 'event must be a string' });
      if (data !== undefined && (data === null || typeof data !== 'object' || Array.isArray(data))) {
        return sendError(ws, ack, { code: 'VALIDATION_FAILED', message: 'data must be an object' });
      }
      if (!conn.bucket.take()) return sendError(ws, ack, { code: 'RATE_LIMITED', message: 'Too many events; slow down' });
      if (conn.inFlight >= o.maxInFlight) {
        return sendError(ws, ack, { code: 'RATE_LIMITED', message: `At most ${o.maxInFlight} unanswered events per connection` });
      }
      conn.inFlight += 1;
      void o.track(
        dispatch(events, conn.actor, event, data, (error) => conn.logger.error({ err: error, event }, 'event failed')).then((outcome) => {
          conn.inFlight -= 1;
          if (outcome.ok) {
            if (ack !== undefined) send(ws, `{"event":"ack","ack":${JSON.stringify(ack)},"data":${JSON.stringify(outcome.data)}}`);
          } else {
            sendError(ws, ack, outcome.error);
          }
        }),
      );
    },

    close: (ws, code) => {
      const conn = ws.getUserData();
      conn.closed = true;
      o.onClose(ws);
    },
  });
}
