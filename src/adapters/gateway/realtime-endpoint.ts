import type { EventRecorder, Telemetry } from '../../application/ports/telemetry.js';
import type { UseCases } from '../../application/use-cases.js';
import { Serialised } from '../../application/views.js';
import { AnswerAfterPushes, chatEvents, dispatch, type Outcome } from './chat-events.js';
import { ENCODE } from './connection-registry.js';
import type { Connection } from './connection.js';
import { SHUTTING_DOWN, type WireError } from './wire-error.js';

export interface RealtimeEndpointOptions {
  /** Unanswered events one connection may have in flight. */
  readonly maxInFlight: number;
  /** Bytes one connection may fall behind before it is closed with 4008. */
  readonly maxBufferedBytes: number;
  /** Wraps each event's work so shutdown can wait for it. */
  readonly track: <T>(work: Promise<T>) => Promise<T>;
  readonly telemetry: Telemetry;
}

export const MAX_ACK_LENGTH = 128;

/**
 * The client side of the realtime protocol, for every transport: `/ws` frames
 * are parsed and checked here, and Socket.IO events come in through
 * `dispatchEvent`. Every frame, well-formed or not, is charged to the
 * connection's rate limit before anything else is done with it.
 */
export class RealtimeEndpoint {
  private readonly events: ReturnType<typeof chatEvents>;
  /** One recorder per event of the protocol's list (the metric labels come from it), and one for anything else. */
  private readonly recorders: ReadonlyMap<string, EventRecorder>;
  private readonly otherEvent: EventRecorder;
  /** Set at shutdown: events already running finish, new ones are refused, so the wait is bounded. */
  draining = false;

  constructor(
    useCases: UseCases,
    private readonly options: RealtimeEndpointOptions,
  ) {
    this.events = chatEvents(useCases);
    this.recorders = new Map([...this.events.keys()].map((name) => [name, options.telemetry.eventRecorder(name)]));
    this.otherEvent = options.telemetry.eventRecorder('other');
  }

  /** One `/ws` frame: `{event, data, ack?}` as JSON text (docs/PROTOCOL.md). */
  onFrame(conn: Connection, text: string | null): void {
    if (conn.closed) return;
    if (!conn.takeToken()) {
      this.options.telemetry.limited('events-per-connection');
      return this.refuseUnparsed(conn, text, { code: 'RATE_LIMITED', message: 'Too many events; slow down' });
    }
    if (text === null) return this.sendError(conn, undefined, { code: 'INVALID_FRAME', message: 'Frames must be JSON text' });
    const started = process.hrtime.bigint();
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      return this.sendError(conn, undefined, { code: 'INVALID_JSON', message: 'The frame is not valid JSON' });
    }
    if (frame === null || typeof frame !== 'object' || Array.isArray(frame)) {
      return this.sendError(conn, undefined, { code: 'INVALID_FRAME', message: 'A frame must be a JSON object' });
    }
    const { event, data, ack } = frame as { event?: unknown; data?: unknown; ack?: unknown };
    if (!validAck(ack)) {
      return this.sendError(conn, undefined, { code: 'INVALID_FRAME', message: `ack must be a number or a string of at most ${MAX_ACK_LENGTH} characters` });
    }
    if (typeof event !== 'string') return this.sendError(conn, ack, { code: 'INVALID_FRAME', message: 'event must be a string' });
    void this.run(conn, event, data, started).then((outcome) => {
      try {
        if (!outcome.ok) return this.sendError(conn, ack, outcome.error);
        if (ack !== undefined)
          this.send(
            conn,
            `{"event":"ack","ack":${JSON.stringify(ack)},"data":${outcome.data instanceof Serialised ? outcome.data.json : JSON.stringify(outcome.data)}}`,
          );
      } catch (error) {
        conn.logger.error({ err: error, event: event.slice(0, 64) }, 'could not answer an event');
        this.sendError(conn, ack, { code: 'INTERNAL', message: 'Internal server error' });
      }
    });
  }

  /** One event from a transport that parsed it itself (Socket.IO); answers exactly once. */
  dispatchEvent(conn: Connection, event: unknown, data: unknown): Promise<Outcome> {
    if (conn.closed) return Promise.resolve({ ok: false, error: { code: 'SERVICE_UNAVAILABLE', message: 'The connection is closing' } });
    const started = process.hrtime.bigint();
    if (!conn.takeToken())
      return this.counted(String(event), started, Promise.resolve({ ok: false, error: { code: 'RATE_LIMITED', message: 'Too many events; slow down' } }));
    if (typeof event !== 'string') return Promise.resolve({ ok: false, error: { code: 'INVALID_FRAME', message: 'event must be a string' } });
    return this.run(conn, event, data, started);
  }

  private run(conn: Connection, event: string, data: unknown, started: bigint): Promise<Outcome> {
    return this.counted(event, started, this.runUncounted(conn, event, data));
  }

  /** Hot path: one clock reading here and one at the start, and the event's pre-bound recorder. */
  private counted(event: string, started: bigint, outcome: Promise<Outcome>): Promise<Outcome> {
    return outcome.then((o) => {
      (this.recorders.get(event) ?? this.otherEvent)(o.ok ? 'ok' : o.error.code, Number(process.hrtime.bigint() - started) / 1e9);
      if (!o.ok && o.error.code === 'RATE_LIMITED') this.options.telemetry.limited('events-per-connection');
      return o;
    });
  }

  private runUncounted(conn: Connection, event: string, data: unknown): Promise<Outcome> {
    if (data !== undefined && (data === null || typeof data !== 'object' || Array.isArray(data))) {
      return Promise.resolve({ ok: false, error: { code: 'VALIDATION_FAILED', message: 'data must be an object' } });
    }
    if (this.draining) return Promise.resolve({ ok: false, error: SHUTTING_DOWN });
    if (conn.inFlight >= this.options.maxInFlight) {
      return Promise.resolve({ ok: false, error: { code: 'RATE_LIMITED', message: `At most ${this.options.maxInFlight} unanswered events per connection` } });
    }
    conn.inFlight += 1;
    const holds = this.events.get(event)?.holdsPushes?.(data) === true;
    if (holds) conn.holdPushes();
    return this.options.track(
      dispatch(this.events, conn.actor, event, data, (error) => conn.logger.error({ err: error, event }, 'event failed'))
        .then((outcome) => this.sendPushesFirst(conn, outcome))
        .finally(() => {
          conn.inFlight -= 1;
          if (holds) conn.releasePushes(this.options.maxBufferedBytes);
        }),
    );
  }

  /** An answer that replays pushes sends them before it (and before the live ones held meanwhile). */
  private sendPushesFirst(conn: Connection, outcome: Outcome): Outcome {
    if (!outcome.ok || !(outcome.data instanceof AnswerAfterPushes)) return outcome;
    const encode = ENCODE[conn.protocol];
    for (const p of outcome.data.pushes) conn.send(encode(p.event, p.dataJson), this.options.maxBufferedBytes);
    return { ok: true, data: outcome.data.ack };
  }

  /** A refused frame still gets its ack answered when the ack can be read cheaply. */
  private refuseUnparsed(conn: Connection, text: string | null, error: WireError): void {
    let ack: unknown;
    if (text !== null && text.length <= 4096) {
      try {
        ack = (JSON.parse(text) as { ack?: unknown } | null)?.ack;
      } catch {
        ack = undefined;
      }
    }
    this.sendError(conn, validAck(ack) ? ack : undefined, error);
  }

  private sendError(conn: Connection, ack: unknown, error: WireError): void {
    this.send(conn, JSON.stringify(ack === undefined ? { event: 'error', error } : { event: 'error', ack, error }));
  }

  private send(conn: Connection, frame: string): void {
    conn.send(frame, this.options.maxBufferedBytes);
  }
}

const validAck = (ack: unknown): boolean =>
  ack === undefined || (typeof ack === 'number' && Number.isFinite(ack)) || (typeof ack === 'string' && ack.length <= MAX_ACK_LENGTH);
