import { hasBinary, Obj, preview, Raw, render, toPlain, type J } from './json.js';
import { deepNest, junkText } from './junk.js';
import { FIELDS } from './api-surface.js';
import { junkEventName, PayloadFactory } from './payloads.js';
import type { Prng } from './prng.js';
import type { RestRequest } from './rest-requests.js';
import type { FuzzUser, World } from './world.js';

/** Events the Socket.IO parser itself refuses (the client is disconnected with "parse error"). */
export const PARSER_RESERVED = ['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'];

export type SioInput =
  /** An emit through socket.io-client. */
  | {
      readonly kind: 'emit';
      readonly event: string | number;
      readonly args: unknown[];
      readonly callback: boolean;
      /** Bytes of the largest frame it makes: over MAX_FRAME_BYTES disconnects. */
      readonly largestFrame: number;
      readonly tags: readonly string[];
    }
  /** A Socket.IO EVENT packet written as text (what socket.io-client cannot say), with an ack id or not. */
  | { readonly kind: 'packet'; readonly text: string; readonly ackId: number | null; readonly tags: readonly string[] }
  /** Engine.IO/Socket.IO frames that break the protocol, for a connection of their own. */
  | { readonly kind: 'junk'; readonly frames: ReadonlyArray<string | Buffer>; readonly tags: readonly string[] };

/** A readable form of an input for a finding. */
export function showSio(input: SioInput): string {
  if (input.kind === 'packet') return `engine.write(${JSON.stringify(preview(input.text, 800))})`;
  if (input.kind === 'junk')
    return `raw Engine.IO frames: ${input.frames.map((f) => (typeof f === 'string' ? JSON.stringify(preview(f, 300)) : `<binary ${f.length} bytes>`)).join(', ')}`;
  const arg = (a: unknown) =>
    preview(JSON.stringify(a, (_k, v: unknown) => (isBufferJson(v) ? `<Buffer ${(v as { data: number[] }).data.length} bytes>` : v)) ?? 'undefined', 600);
  return `socket.emit(${JSON.stringify(input.event)}${input.args.map((a) => `, ${arg(a)}`).join('')}${input.callback ? ', <callback>' : ''})`;
}

/** An input exactly, as JSON: an emit's event and arguments (binary as `{"$buffer": base64}`), or a packet's text. */
export function exactSio(input: SioInput): string {
  if (input.kind === 'packet') return JSON.stringify({ packet: input.text });
  if (input.kind === 'junk') return JSON.stringify({ frames: input.frames.map((f) => (typeof f === 'string' ? f : { $buffer: f.toString('base64') })) });
  return JSON.stringify({ event: input.event, args: input.args, callback: input.callback }, (_k, v: unknown) =>
    isBufferJson(v) ? { $buffer: Buffer.from((v as { data: number[] }).data).toString('base64') } : v,
  );
}

const isBufferJson = (v: unknown) =>
  typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data);

/** How deep arrays and objects nest in a JSON text (strings skipped). */
export function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') max = Math.max(max, ++depth);
    else if (c === ']' || c === '}') depth--;
  }
  return max;
}

/** Bytes of the largest frame an emit becomes (text part with placeholders, or one attachment). */
function largestFrame(event: string | number, args: unknown[]): number {
  let biggestBinary = 0;
  const binary = args.some(containsBuffer);
  const text = JSON.stringify([event, ...args], (key, v: unknown) => {
    // socket.io-parser copies a packet with attachments key by key, so an own "__proto__" key is lost on the way.
    if (binary && key === '__proto__') return undefined;
    if (isBufferJson(v)) {
      biggestBinary = Math.max(biggestBinary, (v as { data: number[] }).data.length);
      return { _placeholder: true, num: 0 };
    }
    return v;
  });
  return Math.max(Buffer.byteLength(text) + 16, biggestBinary + 1);
}

const containsBuffer = (v: unknown): boolean => Buffer.isBuffer(v) || (typeof v === 'object' && v !== null && Object.values(v).some(containsBuffer));

/**
 * Mutated Socket.IO traffic for one socket: emits of every client event with
 * mutated payloads, wrong arity, binary attachments, with and without a
 * callback; hand-written packets; and protocol junk.
 */
export class SioGenerator {
  private readonly payloads: PayloadFactory;
  private ackId = 1_000_000;

  /**
   * Over long-polling, engine.io-client 6.6 sizes a zero-byte attachment as NaN
   * and stops splitting its POST batches at the server's maxPayload; the batch
   * then goes over the limit (413) and the client is dropped. A client bug, not
   * the server's: long-polling sockets send attachments of at least one byte.
   */
  private readonly minBinary: number;

  constructor(
    private readonly r: Prng,
    world: World,
    me: FuzzUser,
    private readonly limits: { maxFrameBytes: number },
    label: string,
    transport: 'websocket' | 'polling' = 'websocket',
  ) {
    this.payloads = new PayloadFactory(r, world, me, label);
    this.minBinary = transport === 'polling' ? 1 : 0;
  }

  next(): SioInput {
    const r = this.r;
    const what = r.weighted<string>([
      [82, 'emit'],
      [12, 'packet'],
      [6, 'junk'],
    ]);
    if (what === 'packet') return this.packet();
    if (what === 'junk') return this.junk();
    // socket.io-client serialises and scans for binary recursively: deep nesting goes as a hand-written packet.
    for (;;) {
      const emit = this.emit();
      if (emit) return emit;
    }
  }

  private mutatedData(event: string, tags: string[]): J {
    const r = this.r;
    let data: J = this.payloads.valid(this.payloadEvent(event) as never);
    const rounds = r.weighted([
      [20, 0],
      [45, 1],
      [25, 2],
      [10, 3],
    ]);
    for (let i = 0; i < rounds; i++) {
      if (r.chance(0.1)) {
        // A binary attachment where text or an id belongs.
        const key = r.pick(['content', 'conversation_id', 'message_id', 'client_id', 'attachment']);
        data = data instanceof Obj ? data.with(key, r.bytes(r.pick([this.minBinary, 1, 64, 4096]))) : r.bytes(8);
        tags.push(`binary:${key}`);
        continue;
      }
      const m = this.payloads.mutateData(event, data);
      data = m.data;
      tags.push(m.tag);
    }
    return data;
  }

  private payloadEvent(event: string): string {
    return Object.hasOwn(FIELDS, event) ? event : 'sendMessage';
  }

  private emit(): Extract<SioInput, { kind: 'emit' }> | null {
    const r = this.r;
    const tags: string[] = [];
    let event: string | number = this.payloads.pickEvent();
    if (r.chance(0.06)) {
      const e = junkEventName(r);
      if (typeof e.value === 'string' && !PARSER_RESERVED.includes(e.value)) event = e.value;
      else if (typeof e.value === 'number') event = e.value;
      tags.push(e.tag);
    }
    tags.unshift(String(event));
    const data = this.mutatedData(typeof event === 'string' ? event : 'sendMessage', tags);
    let args: J[] = [data];
    const arity = r.weighted<string>([
      [80, 'one'],
      [6, 'none'],
      [7, 'extra'],
      [4, 'binary-arg'],
      [3, 'data-binary'],
    ]);
    if (arity === 'none') args = [];
    else if (arity === 'extra') args = [data, ...Array.from({ length: r.int(1, 3) }, () => junkText(r).value)];
    else if (arity === 'binary-arg') args = [data, r.bytes(r.int(1, 256))];
    else if (arity === 'data-binary') args = [r.bytes(r.int(this.minBinary, 128))];
    if (arity !== 'one') tags.push(`arity:${arity}`);
    if (r.chance(0.01)) {
      // Just under or just over the packet limit.
      const over = r.chance(0.5);
      const pad = this.limits.maxFrameBytes + (over ? 200 : -300) - Buffer.byteLength(render(args[0] ?? null)) - 64;
      args = [data instanceof Obj ? data.with('_pad', 'p'.repeat(Math.max(0, pad))) : Obj.of({ _pad: 'p'.repeat(Math.max(0, pad)) }), ...args.slice(1)];
      tags.push(over ? 'size:over-limit' : 'size:under-limit');
    }
    if (nestingDepth(args.map(render).join(',')) > 500) return null;
    const plain = args.map(toPlain);
    const callback = r.chance(0.75);
    if (!callback) tags.push('no-callback');
    if (args.some(hasBinary)) tags.push('has-binary');
    return { kind: 'emit', event, args: plain, callback, largestFrame: largestFrame(event, plain), tags };
  }

  /** An EVENT packet as text: duplicate keys, huge number literals, deep nesting, numbers as event names. */
  private packet(): SioInput {
    const r = this.r;
    const tags: string[] = ['packet'];
    const event = this.payloads.pickEvent();
    const data = this.mutatedData(event, tags);
    let eventJ: J = event;
    if (r.chance(0.1)) {
      eventJ = r.pick<J>([7, new Raw('9223372036854775807'), -1, 1.5, 'x'.repeat(1000)]);
      tags.push('packet:odd-event');
    }
    const items: J[] = [eventJ];
    if (!r.chance(0.05)) items.push(data);
    if (r.chance(0.05)) items.push(deepNest(r.pick([100, 5_000]), '[', ']'));
    const withAck = r.chance(0.8);
    const id = withAck ? ++this.ackId : null;
    if (!withAck) tags.push('no-ack');
    // Binary cannot be written as text: those become base64 strings, which is junk of its own.
    return { kind: 'packet', text: `2${id ?? ''}${render(items)}`, ackId: id, tags };
  }

  private junk(): SioInput {
    const r = this.r;
    const valid = `2["typing",${JSON.stringify({ conversation_id: this.payloads.conversationId() })}]`;
    const options: Array<[string, Array<string | Buffer>]> = [
      ['invalid-json', ['42[', '42["sendMessage",{']],
      ['payload-object', ['42{"event":"sendMessage"}']],
      ['payload-empty-array', ['42[]']],
      ['event-object', ['42[{"a":1},{}]']],
      ['event-null', ['42[null]']],
      ['reserved-event', [`42${JSON.stringify([r.pick(PARSER_RESERVED), {}])}`]],
      ['missing-attachments', ['451-["sendMessage",{"_placeholder":true,"num":0}]']],
      ['huge-attachment-count', ['4599999999-["sendMessage",{"_placeholder":true,"num":0}]']],
      ['placeholder-out-of-range', ['451-["sendMessage",{"_placeholder":true,"num":7}]', Buffer.from([1, 2, 3])]],
      ['attachment-without-packet', [Buffer.from('hello')]],
      ['other-namespace', ['42/admin,["sendMessage",{}]']],
      ['connect-unknown-namespace', ['40/nope,']],
      ['connect-junk-auth', ['40{"token":']],
      ['disconnect-then-event', ['41', `4${valid}`]],
      ['ack-from-client', ['431["x"]']],
      ['unknown-socketio-type', ['49["x"]']],
      ['unknown-engine-type', ['9junk']],
      ['empty-frame', ['']],
      ['engine-close', ['1']],
      ['engine-upgrade-again', ['5']],
      ['engine-probe', ['2probe']],
      ['ack-id-huge', [`4299999999999999999999${valid.slice(1)}`]],
      ['ack-id-negative', [`42-1${valid.slice(1)}`]],
      ['binary-frame-junk', [r.bytes(32)]],
      ['nested-placeholder', ['451-["sendMessage",{"a":{"b":{"_placeholder":true,"num":0}}}]', Buffer.from('x')]],
      ['prototype-placeholder', ['451-["sendMessage",{"__proto__":{"_placeholder":true,"num":0}}]', Buffer.from('x')]],
    ];
    const [tag, frames] = r.pick(options);
    return { kind: 'junk', frames, tags: [`junk:${tag}`] };
  }
}

/** Raw Engine.IO handshakes (and session requests) with hostile query strings. */
export class HandshakeGenerator {
  constructor(
    private readonly r: Prng,
    private readonly world: World,
    private readonly me: FuzzUser,
    private readonly allowedOrigin: string | undefined,
  ) {}

  next(): RestRequest {
    const r = this.r;
    const tags: string[] = ['engine.io handshake'];
    const params: string[] = [];
    const eio = r.weighted<string | null>([
      [80, '4'],
      [4, '3'],
      [3, '5'],
      [3, 'junk'],
      [3, null],
      [2, '4&EIO=3'],
    ]);
    if (eio !== '4') tags.push(`EIO=${eio}`);
    if (eio !== null) params.push(`EIO=${eio}`);
    const transport = r.weighted<string | null>([
      [80, 'polling'],
      [5, 'websocket'],
      [5, 'junk'],
      [3, null],
      [2, 'webtransport'],
    ]);
    if (transport !== 'polling') tags.push(`transport=${transport}`);
    if (transport !== null) params.push(`transport=${transport}`);
    const tokenKind = r.weighted<string>([
      [35, 'valid'],
      [15, 'bad'],
      [15, 'junk'],
      [10, 'none'],
      [5, 'userId'],
      [5, 'repeated'],
      [5, 'header'],
    ]);
    tags.push(`token:${tokenKind}`);
    const headers: Array<[string, string]> = [];
    if (tokenKind === 'valid') params.push(`token=${this.me.token}`);
    else if (tokenKind === 'bad') {
      const [name, t] = r.pick(this.world.badTokens);
      tags.push(`auth:${name}`);
      params.push(`token=${encodeURIComponent(t)}`);
    } else if (tokenKind === 'junk') {
      // Legal in a request target (raw spaces or non-ASCII would break the request line, which is another test).
      params.push(`token=${r.pick(['', '%', '%E0%A4%A', '%00', 'a'.repeat(9_000), 'null', '%5Bobject%20Object%5D', '%E6%97%A5%E6%9C%AC'])}`);
    } else if (tokenKind === 'userId') params.push(`userId=${r.pick([String(this.world.alice.id), '1', '-1', 'abc'])}`);
    else if (tokenKind === 'repeated') params.push(`token=${this.me.token}`, 'token=junk');
    else if (tokenKind === 'header') headers.push(['Authorization', r.pick([`Bearer ${this.me.token}`, 'Bearer junk', `Bearer ${'A'.repeat(5_000)}`])]);
    if (r.chance(0.15)) {
      const extra = r.pick([
        'sid=junk',
        'sid=',
        `sid=${'A'.repeat(20)}`,
        'b64=1',
        'j=0',
        `t=${'x'.repeat(r.pick([10, 5_000]))}`,
        '__proto__=x',
        'constructor=x',
        '%=%',
        '&&',
        'sid[]=1',
      ]);
      params.push(extra);
      tags.push(`query:${extra.slice(0, 16)}`);
    }
    if (r.chance(0.06)) {
      const origin = r.pick(['http://evil.example', 'null', this.allowedOrigin ?? 'http://localhost:3000']);
      headers.push(['Origin', origin]);
      tags.push(`origin:${origin}`);
    }
    const method = r.weighted<string>([
      [85, 'GET'],
      [8, 'POST'],
      [4, 'OPTIONS'],
      [3, 'PUT'],
    ]);
    if (method !== 'GET') tags.push(`method:${method}`);
    let body: Buffer | null = null;
    if (method === 'POST') {
      body = Buffer.from(r.pick(['40', '1', '4junk', '', '42["sendMessage",{}]', 'x'.repeat(70_000)]));
      headers.push(['Content-Type', 'text/plain;charset=UTF-8']);
    }
    const path = r.weighted<string>([
      [94, '/socket.io/'],
      [2, '/socket.io'],
      [2, '/socket.io/socket.io.js'],
      [2, '/socket.io/x/../'],
    ]);
    if (path !== '/socket.io/') tags.push(`path:${path}`);
    const upgrade = transport === 'websocket' && r.chance(0.7);
    if (upgrade) {
      headers.push(
        ['Upgrade', 'websocket'],
        ['Connection', 'Upgrade'],
        ['Sec-WebSocket-Key', Buffer.from(r.bytes(16)).toString('base64')],
        ['Sec-WebSocket-Version', '13'],
      );
      tags.push('upgrade');
    }
    return {
      method,
      path,
      query: params.join('&'),
      headers,
      body,
      chunked: false,
      route: `${method} /socket.io/ (handshake)`,
      tags,
      malformed: false,
      upgrade,
    };
  }

  /** A POST to a session opened without a token: its CONNECT with hostile `auth`, or an event before any CONNECT. */
  connectPacket(sid: string): RestRequest {
    const r = this.r;
    const [name, bad] = r.pick(this.world.badTokens);
    const [tag, packet] = r.pick<[string, string]>([
      ['junk-token', '40{"token":"junk"}'],
      [`bad-token:${name}`, `40${JSON.stringify({ token: bad })}`],
      ['number-token', '40{"token":12}'],
      ['null-token', '40{"token":null}'],
      ['object-token', '40{"token":{"$gt":""}}'],
      ['array-auth', '40[1]'],
      ['string-auth', '40"token"'],
      ['no-auth', '40'],
      ['event-first', '421["sendMessage",{"conversation_id":1,"content":"before auth"}]'],
      ['other-namespace', `40/admin,${JSON.stringify({ token: this.me.token })}`],
      ['valid-token', `40${JSON.stringify({ token: this.me.token })}`],
    ]);
    return {
      method: 'POST',
      path: '/socket.io/',
      query: `EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`,
      headers: [['Content-Type', 'text/plain;charset=UTF-8']],
      body: Buffer.from(packet),
      chunked: false,
      route: 'POST /socket.io/ (CONNECT before auth)',
      tags: ['engine.io session without a token', `connect:${tag}`],
      malformed: false,
      upgrade: false,
    };
  }
}
