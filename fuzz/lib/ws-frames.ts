import { isUtf8 } from 'node:buffer';
import { Obj, Raw, render, type J } from './json.js';
import { deepNest, junkValue } from './junk.js';
import { junkAck, junkEventName, PayloadFactory } from './payloads.js';
import type { Prng } from './prng.js';
import type { FuzzUser, World } from './world.js';

/** One `/ws` frame exactly as it goes on the wire. */
export interface WsInput {
  readonly bytes: Buffer;
  readonly binary: boolean;
  readonly tags: readonly string[];
}

/** What the protocol promises for a frame (docs/PROTOCOL.md). */
export type Expectation =
  /**
   * Closes the connection with `code`. A frame both too big and not UTF-8 may
   * be refused for either reason, so `alternative` is as fine.
   */
  | { readonly kind: 'close'; readonly code: number; readonly alternative?: number; readonly why: 'too-big' | 'invalid-utf8' }
  /** An `error` frame without ack, with this code. */
  | { readonly kind: 'ackless-error'; readonly code: 'INVALID_JSON' | 'INVALID_FRAME' }
  /** Exactly one `ack` or `error` carrying this ack. */
  | { readonly kind: 'answer'; readonly ack: number | string; readonly key: string; readonly event: string; readonly sentContent?: string }
  /** Silence on success, an error without ack on failure. */
  | { readonly kind: 'ackless-maybe'; readonly event: string };

export const ackKey = (ack: unknown): string => (typeof ack === 'number' ? `n:${String(ack)}` : `s:${String(ack)}`);

const UWS_MAX_PAYLOAD = 16 * 1024 * 1024;

/** Decides what the server owes a frame, from the bytes alone, as the server would read them. */
export function expectationOf(input: WsInput, limits: { maxFrameBytes: number; transport: 'uws' | 'node' }): Expectation {
  const { bytes } = input;
  const invalidUtf8Code = limits.transport === 'uws' ? 1006 : 1007;
  const textNotUtf8 = !input.binary && !isUtf8(bytes);
  if (bytes.length > limits.maxFrameBytes) {
    // uWS itself drops frames over its own 16 MiB ceiling without a close frame (1006), as documented.
    const code = limits.transport === 'uws' && bytes.length > UWS_MAX_PAYLOAD ? 1006 : 1009;
    return { kind: 'close', code, ...(textNotUtf8 ? { alternative: invalidUtf8Code } : {}), why: 'too-big' };
  }
  if (input.binary) return { kind: 'ackless-error', code: 'INVALID_FRAME' };
  if (textNotUtf8) return { kind: 'close', code: invalidUtf8Code, why: 'invalid-utf8' };
  let frame: unknown;
  try {
    frame = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { kind: 'ackless-error', code: 'INVALID_JSON' };
  }
  if (frame === null || typeof frame !== 'object' || Array.isArray(frame)) return { kind: 'ackless-error', code: 'INVALID_FRAME' };
  const { event, ack, data } = frame as { event?: unknown; ack?: unknown; data?: unknown };
  const ackOk = ack === undefined || (typeof ack === 'number' && Number.isFinite(ack)) || (typeof ack === 'string' && ack.length <= 128);
  if (!ackOk) return { kind: 'ackless-error', code: 'INVALID_FRAME' };
  if (ack === undefined) {
    if (typeof event !== 'string') return { kind: 'ackless-error', code: 'INVALID_FRAME' };
    return { kind: 'ackless-maybe', event };
  }
  const d = data as { content?: unknown; client_id?: unknown } | undefined;
  const sentContent =
    (event === 'sendMessage' || event === 'editMessage') && d && typeof d === 'object' && typeof d.content === 'string' && d.client_id == null
      ? d.content
      : undefined;
  return {
    kind: 'answer',
    ack: ack as number | string,
    key: ackKey(ack),
    event: typeof event === 'string' ? event : `(${typeof event})`,
    ...(sentContent === undefined ? {} : { sentContent }),
  };
}

/**
 * Mutated `/ws` frames for one connection: a valid frame of a client event,
 * then up to a few mutations of its data, event, ack, JSON text or bytes.
 */
export class WsFrameGenerator {
  private n = 0;
  private readonly payloads: PayloadFactory;

  constructor(
    private readonly r: Prng,
    world: World,
    me: FuzzUser,
    private readonly limits: { maxFrameBytes: number },
    label: string,
  ) {
    this.payloads = new PayloadFactory(r, world, me, label);
  }

  next(): WsInput {
    const r = this.r;
    const n = ++this.n;
    const tags: string[] = [];
    const event: string = this.payloads.pickEvent();
    tags.push(event);
    let data: J | undefined = this.payloads.valid(event as never);
    let eventValue: J | undefined = event;
    let ack: J | undefined = r.chance(0.85) ? n : undefined;
    if (ack === undefined) tags.push('no-ack');
    const rounds = r.weighted([
      [15, 0],
      [45, 1],
      [25, 2],
      [15, 3],
    ]);
    const extra: Array<[string, J]> = [];
    let whole: J | null = null;
    for (let i = 0; i < rounds; i++) {
      const what = r.weighted<string>([
        [70, 'data'],
        [7, 'event'],
        [8, 'ack'],
        [4, 'top-level'],
        [2, 'whole'],
      ]);
      if (what === 'data') {
        const m = this.payloads.mutateData(event, data ?? null);
        data = m.data;
        tags.push(m.tag);
      } else if (what === 'event') {
        const e = junkEventName(r);
        eventValue = e.value;
        tags.push(e.tag);
      } else if (what === 'ack') {
        const a = junkAck(r, n);
        ack = a.value;
        tags.push(a.tag);
      } else if (what === 'top-level') {
        const choice = r.int(0, 4);
        if (choice === 0) {
          extra.push(['ack', junkAck(r, n).value]);
          tags.push('dup:ack');
        } else if (choice === 1) {
          extra.push(['event', junkEventName(r).value ?? null]);
          tags.push('dup:event');
        } else if (choice === 2) {
          extra.push(['data', junkValue(r).value]);
          tags.push('dup:data');
        } else if (choice === 3) {
          extra.push(['__proto__', Obj.of({ ack: n, event: 'sendMessage' })]);
          tags.push('top:__proto__');
        } else {
          data = undefined;
          tags.push('top:no-data');
        }
      } else {
        whole = r.pick<J>([[1, 2, 3], 'sendMessage', 42, null, true, new Obj(), deepNest(10_000, '[', ']'), new Raw('{}'.repeat(3))]);
        tags.push(
          `whole:${whole === null ? 'null' : Array.isArray(whole) ? 'array' : whole instanceof Obj ? '{}' : whole instanceof Raw ? 'raw' : typeof whole}`,
        );
      }
    }
    const frame = new Obj();
    if (eventValue !== undefined) frame.entries.push(['event', eventValue]);
    if (data !== undefined) frame.entries.push(['data', data]);
    if (ack !== undefined) frame.entries.push(['ack', ack]);
    frame.entries.push(...extra);
    return this.encode(render(whole ?? frame), tags);
  }

  /** The last step: text-level and byte-level damage, size games, binary opcode. */
  private encode(text: string, tags: string[]): WsInput {
    const r = this.r;
    const max = this.limits.maxFrameBytes;
    const op = r.weighted<string>([
      [80, 'none'],
      [3, 'truncate'],
      [2, 'garbage'],
      [2, 'binary'],
      [1, 'invalid-utf8'],
      [1.2, 'pad-under'],
      [0.3, 'pad-over'],
      [0.005, 'pad-16MiB'],
      [1, 'whitespace'],
      [0.5, 'empty'],
      [0.3, 'random-bytes'],
    ]);
    if (op === 'none') return { bytes: Buffer.from(text), binary: false, tags };
    tags.push(`wire:${op}`);
    switch (op) {
      case 'truncate':
        return { bytes: Buffer.from(text.slice(0, r.int(0, Math.max(0, text.length - 1)))), binary: false, tags };
      case 'garbage': {
        const g = r.pick(['}', ',', ' x', '\u0000', '//c', "'", ' NaN', '{"a":1}', '\ufeff']);
        const t = r.chance(0.5) ? text + g : g + text;
        return { bytes: Buffer.from(t), binary: false, tags };
      }
      case 'binary':
        return { bytes: r.chance(0.7) ? Buffer.from(text) : r.bytes(r.int(0, 64)), binary: true, tags };
      case 'invalid-utf8': {
        const bad = r.pick([[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80], [0xf4, 0x90, 0x80, 0x80]]);
        const b = Buffer.from(text);
        const at = r.int(0, b.length);
        tags.push(`bytes:${bad.map((x) => x.toString(16)).join(' ')}`);
        return { bytes: Buffer.concat([b.subarray(0, at), Buffer.from(bad), b.subarray(at)]), binary: false, tags };
      }
      case 'pad-under':
      case 'pad-over':
      case 'pad-16MiB': {
        const target = op === 'pad-under' ? max - r.int(0, 1) : op === 'pad-over' ? r.pick([max + 1, max + 2, 2 * max, 1024 * 1024]) : 16 * 1024 * 1024 + 1;
        tags.push(`size:${target === max ? 'limit' : target === max - 1 ? 'limit-1' : target === max + 1 ? 'limit+1' : target}`);
        return { bytes: padTo(text, target), binary: false, tags };
      }
      case 'whitespace':
        return { bytes: Buffer.from(r.pick(['\n\t ', '\u00a0', '\u2028']) + text + ' '), binary: false, tags };
      case 'empty':
        return { bytes: Buffer.alloc(0), binary: false, tags };
      default:
        return { bytes: r.bytes(r.int(1, 256)), binary: false, tags };
    }
  }
}

/**
 * Makes a frame exactly `target` bytes long: a top-level padding field when the
 * text is a JSON object (so it stays well-formed), else trailing spaces.
 */
function padTo(text: string, target: number): Buffer {
  const bytes = Buffer.byteLength(text);
  if (bytes >= target) return Buffer.from(text).subarray(0, target);
  if (text.startsWith('{') && text.endsWith('}') && text.length > 2) {
    const head = text.slice(0, -1);
    const fill = target - bytes - ',"_pad":""'.length;
    if (fill >= 0) return Buffer.from(`${head},"_pad":"${'p'.repeat(fill)}"}`);
  }
  return Buffer.from(text + ' '.repeat(target - bytes));
}
