import { Obj, Raw, type J } from './json.js';
import { deepNest, junkId, junkObject, junkText, junkUrl, junkValue } from './junk.js';
import type { Prng } from './prng.js';
import type { FuzzUser, World } from './world.js';
import { FIELDS, type ClientEvent, type FieldKind, type Fields } from './api-surface.js';

/** How often each event is picked; a `Record` over the event names, so a new event does not compile without one. */
const EVENT_WEIGHTS: Record<ClientEvent, number> = {
  sendMessage: 30,
  joinConversation: 12,
  leaveConversation: 3,
  editMessage: 14,
  deleteMessage: 8,
  markRead: 14,
  typing: 14,
};

/**
 * Builds valid payloads for a user's events, aimed at real conversations and
 * messages, and mutates them. Ids are chosen from the seed alone (known ids or
 * a range the run is likely to have created), never from what the server
 * answered, so a seed always yields the same inputs.
 */
export class PayloadFactory {
  private n = 0;
  private readonly memberOf: number[];
  private readonly all: number[];

  constructor(
    private readonly r: Prng,
    private readonly world: World,
    readonly me: FuzzUser,
    /** Labels client_ids so runs never collide. */
    readonly label: string,
  ) {
    const c = world.conversations;
    this.all = [c.direct, c.group, c.openGroup, c.closedGroup];
    const w = world;
    this.memberOf =
      me.id === w.alice.id
        ? [c.direct, c.group]
        : me.id === w.bob.id
          ? [c.direct, c.group, c.openGroup]
          : me.id === w.carol.id
            ? [c.group, c.openGroup, c.closedGroup]
            : [c.closedGroup];
  }

  pickEvent(): ClientEvent {
    return this.r.weighted<ClientEvent>(Object.entries(EVENT_WEIGHTS).map(([event, weight]) => [weight, event as ClientEvent]));
  }

  /** A number never returned before by this factory (for unique names). */
  serial(): number {
    return ++this.n;
  }

  userId(): number {
    const w = this.world;
    return this.r.pick([w.alice.id, w.bob.id, w.carol.id, w.mallory.id, w.disposable[0]!.id, 987_654]);
  }

  conversationId(): number {
    return this.r.chance(0.8) ? this.r.pick(this.memberOf) : this.r.pick(this.all);
  }

  messageId(): number {
    const known = this.world.messageIds;
    if (this.r.chance(0.4)) return this.r.pick(known);
    // Messages this run is likely to have created by now.
    return this.r.int(1, Math.max(...known) + 1 + Math.floor(this.n * 0.6));
  }

  /** A valid `data` for the event. */
  valid(event: ClientEvent): Obj {
    const r = this.r;
    this.n += 1;
    switch (event) {
      case 'sendMessage': {
        const o = Obj.of({ conversation_id: this.conversationId(), content: `fuzz ${this.label} ${this.n}` });
        if (r.chance(0.3)) o.entries.push(['client_id', `${this.label}-${this.n}`]);
        if (r.chance(0.15)) {
          o.entries.push(['type', r.pick(['image', 'video', 'file'])]);
          o.entries.push(['attachment', Obj.of({ url: 'https://cdn.example.com/f.png', name: 'f.png', mime_type: 'image/png', size: 123 })]);
        } else if (r.chance(0.2)) o.entries.push(['type', 'text']);
        return o;
      }
      case 'joinConversation': {
        const o = Obj.of({ conversation_id: this.r.chance(0.3) ? this.world.conversations.openGroup : this.conversationId() });
        if (r.chance(0.5)) o.entries.push(['since', r.chance(0.3) ? 0 : this.messageId()]);
        return o;
      }
      case 'leaveConversation':
        return Obj.of({ conversation_id: r.chance(0.7) ? this.world.conversations.openGroup : this.conversationId() });
      case 'editMessage':
        return Obj.of({ message_id: this.messageId(), content: `edited ${this.label} ${this.n}` });
      case 'deleteMessage':
        return Obj.of({ message_id: this.messageId() });
      case 'markRead':
        return Obj.of({ conversation_id: this.conversationId(), message_id: this.messageId() });
      case 'typing': {
        const o = Obj.of({ conversation_id: this.conversationId() });
        if (r.chance(0.5)) o.entries.push(['is_typing', r.chance(0.5)]);
        return o;
      }
    }
  }

  /** Applies one mutation to an event's data; returns the new data and a tag naming it. */
  mutateData(event: string, data: J): { data: J; tag: string } {
    return this.mutateObject(Object.hasOwn(FIELDS, event) ? FIELDS[event as ClientEvent] : { conversation_id: 'id', content: 'text' }, data);
  }

  /** Applies one mutation to an object whose fields want values of these kinds (or replaces it). */
  mutateObject(fields: Fields, data: J): { data: J; tag: string } {
    const r = this.r;
    const obj = data instanceof Obj ? data : null;
    const op = r.weighted<string>([
      [obj ? 12 : 0, 'field'],
      [obj ? 3 : 0, 'drop'],
      [obj ? 3 : 0, 'retype'],
      [obj ? 2 : 0, 'duplicate'],
      [obj ? 2 : 0, 'unknown-field'],
      [obj ? 1 : 0, 'nested-junk'],
      [2, 'replace'],
    ]);
    if (!obj || op === 'replace') {
      const v = r.pick<() => { data: J; tag: string }>([
        () => ({ data: null, tag: 'data:null' }),
        () => ({ data: [], tag: 'data:[]' }),
        () => ({ data: 'sendMessage', tag: 'data:string' }),
        () => ({ data: 42, tag: 'data:number' }),
        () => ({ data: true, tag: 'data:true' }),
        () => ({ data: new Obj(), tag: 'data:{}' }),
        () => ({ data: deepNest(r.pick([1_000, 10_000]), '[', ']'), tag: 'data:deep-array' }),
        () => ({ data: deepNest(r.pick([1_000, 5_000]), '{"conversation_id":', '}', '1'), tag: 'data:deep-object' }),
        () => ({ data: junkObject(r), tag: 'data:weird-keys' }),
      ])();
      return v;
    }
    const names = Object.keys(fields);
    const present = obj.keys();
    switch (op) {
      case 'drop': {
        if (present.length === 0) return { data: obj, tag: 'drop:none' };
        const key = r.pick(present);
        return { data: obj.without(key), tag: `drop:${key}` };
      }
      case 'retype': {
        const key = r.pick(names);
        const junk = junkValue(r);
        return { data: obj.with(key, junk.value), tag: `${key}=${junk.tag}` };
      }
      case 'duplicate': {
        const key = r.pick(present.length ? present : names);
        const junk = this.junkFor(Object.hasOwn(fields, key) ? fields[key]! : 'text', key);
        return { data: obj.duplicated(key, junk.value), tag: `dup:${key}=${junk.tag}` };
      }
      case 'unknown-field': {
        const key = r.pick(['__proto__', 'constructor', 'id', 'sender_id', 'user_id', 'created_at', 'deleted_at', 'ack', 'event', '\u0000', 'x'.repeat(200)]);
        const junk = junkValue(r);
        return { data: obj.with(key, junk.value), tag: `extra:${key.slice(0, 16)}=${junk.tag}` };
      }
      case 'nested-junk': {
        const key = r.pick(names);
        return { data: obj.with(key, junkObject(r)), tag: `${key}=weird-keys-object` };
      }
      default: {
        const key = r.pick(names);
        const junk = this.junkFor(Object.hasOwn(fields, key) ? fields[key]! : 'text', key);
        return { data: obj.with(key, junk.value), tag: `${key}=${junk.tag}` };
      }
    }
  }

  /** Junk fit for a field of this kind (mostly), or of any kind. */
  junkFor(kind: FieldKind, key: string): { value: J; tag: string } {
    const r = this.r;
    if (r.chance(0.15)) return junkValue(r);
    switch (kind) {
      case 'id':
        return junkId(r, key === 'message_id' ? this.messageId() : key === 'user_id' ? this.userId() : this.conversationId());
      case 'ids': {
        const pick = r.int(0, 6);
        if (pick === 0) return { value: [], tag: 'ids:[]' };
        if (pick === 1) return { value: Array.from({ length: r.pick([1_000, 1_001, 5_000]) }, (_, i) => i + 1), tag: 'ids:many' };
        if (pick === 2) return { value: [this.me.id], tag: 'ids:self' };
        if (pick === 3) return { value: [this.userId(), this.userId()], tag: 'ids:repeated' };
        if (pick === 4) return { value: this.userId(), tag: 'ids:not-array' };
        const one = junkId(r, this.userId());
        return { value: [one.value], tag: `ids:[${one.tag}]` };
      }
      case 'email':
        return r.pick([
          { value: 'ALICE@FUZZ.EXAMPLE', tag: 'email:upper-case' },
          { value: 'no-at-sign', tag: 'email:no-at' },
          { value: `${'a'.repeat(250)}@x.io`, tag: 'email:len-256' },
          { value: 'a@b', tag: 'email:no-tld' },
          { value: 'ü@例え.jp', tag: 'email:unicode' },
          { value: 'a\u0000@x.io', tag: 'email:NUL' },
          { value: ' a@x.io ', tag: 'email:spaces' },
          junkText(r),
        ]);
      case 'username':
        return r.pick([
          { value: 'ab', tag: 'username:len-2' },
          { value: 'a'.repeat(151), tag: 'username:len-151' },
          { value: 'a b', tag: 'username:space' },
          { value: 'ünï', tag: 'username:unicode' },
          { value: this.world.alice.username, tag: 'username:taken' },
          { value: this.world.alice.username.toUpperCase(), tag: 'username:taken-upper' },
          junkText(r),
        ]);
      case 'password':
        return r.pick([
          { value: 'short', tag: 'password:short' },
          { value: 'x'.repeat(257), tag: 'password:len-257' },
          { value: 'correct horse battery', tag: 'password:right' },
          junkText(r),
        ]);
      case 'role':
        return r.pick([
          { value: 'admin', tag: 'role:admin' },
          { value: 'LANDLORD', tag: 'role:upper' },
          { value: 'landlord', tag: 'role:landlord' },
          { value: '__proto__', tag: 'role:__proto__' },
        ]);
      case 'since':
        return r.chance(0.2) ? { value: 0, tag: 'since:0' } : junkId(r, this.messageId());
      case 'text':
        return junkText(r);
      case 'client_id':
        return junkText(r);
      case 'url':
        return junkUrl(r);
      case 'bool':
        return r.pick([
          { value: 'true', tag: 'bool:"true"' },
          { value: 1, tag: 'bool:1' },
          { value: 0, tag: 'bool:0' },
          { value: null, tag: 'bool:null' },
          { value: false, tag: 'bool:false' },
          { value: [], tag: 'bool:[]' },
        ]);
      case 'type':
        return r.pick([
          { value: 'image', tag: 'type:image' },
          { value: 'video', tag: 'type:video' },
          { value: 'file', tag: 'type:file' },
          { value: 'TEXT', tag: 'type:TEXT' },
          { value: 'sticker', tag: 'type:sticker' },
          { value: '', tag: 'type:""' },
          { value: '__proto__', tag: 'type:__proto__' },
          { value: 'toString', tag: 'type:toString' },
          { value: 'text\u0000', tag: 'type:text+NUL' },
        ]);
      case 'size':
        return junkId(r, 1000);
      case 'attachment': {
        if (r.chance(0.2)) {
          const t = r.chance(0.5) ? junkText(r) : { value: '00000000-0000-4000-8000-000000000000', tag: 'nil-uuid' };
          return { value: Obj.of({ upload_id: t.value }), tag: `attachment.upload_id=${t.tag}` };
        }
        const att = Obj.of({ url: 'https://cdn.example.com/a.png', name: 'a.png', mime_type: 'image/png', size: 10 });
        const field = r.pick(['url', 'name', 'mime_type', 'size', 'extra']);
        if (field === 'url') {
          const u = junkUrl(r);
          return { value: att.with('url', u.value), tag: `attachment.url=${u.tag}` };
        }
        if (field === 'size') {
          const v = junkId(r, 10);
          return { value: att.with('size', v.value), tag: `attachment.size=${v.tag}` };
        }
        if (field === 'extra') return { value: att.with('__proto__', Obj.of({ url: 'javascript:x' })), tag: 'attachment.__proto__' };
        const t = junkText(r);
        return { value: att.with(field, t.value), tag: `attachment.${field}=${t.tag}` };
      }
    }
  }
}

/** Event names that are not quite the events. */
export function junkEventName(r: Prng): { value: J | undefined; tag: string } {
  return r.pick<() => { value: J | undefined; tag: string }>([
    () => ({ value: undefined, tag: 'event:missing' }),
    () => ({ value: null, tag: 'event:null' }),
    () => ({ value: 7, tag: 'event:number' }),
    () => ({ value: ['sendMessage'], tag: 'event:array' }),
    () => ({ value: Obj.of({ name: 'sendMessage' }), tag: 'event:object' }),
    () => ({ value: 'SendMessage', tag: 'event:wrong-case' }),
    () => ({ value: 'sendMessage ', tag: 'event:trailing-space' }),
    () => ({ value: 'sendMessage\u0000', tag: 'event:NUL' }),
    () => ({ value: '', tag: 'event:""' }),
    () => ({ value: '__proto__', tag: 'event:__proto__' }),
    () => ({ value: 'constructor', tag: 'event:constructor' }),
    () => ({ value: 'toString', tag: 'event:toString' }),
    () => ({ value: 'hasOwnProperty', tag: 'event:hasOwnProperty' }),
    () => ({ value: 'receiveMessage', tag: 'event:push-name' }),
    () => ({ value: 'ack', tag: 'event:ack' }),
    () => ({ value: 'error', tag: 'event:error' }),
    () => ({ value: 'x'.repeat(r.pick([200, 5_000, 40_000])), tag: 'event:long' }),
    () => ({ value: '\ud800', tag: 'event:lone-surrogate' }),
    () => ({ value: 'отправить', tag: 'event:unicode' }),
  ])();
}

/** An `ack` value the protocol refuses (INVALID_FRAME), or a surprising one it accepts. */
export function junkAck(r: Prng, n: number): { value: J; tag: string } {
  return r.pick<() => { value: J; tag: string }>([
    // refused
    () => ({ value: Obj.of({ id: n }), tag: 'ack:object' }),
    () => ({ value: [n], tag: 'ack:array' }),
    () => ({ value: true, tag: 'ack:true' }),
    () => ({ value: null, tag: 'ack:null' }),
    () => ({ value: `${'a'.repeat(129 - String(n).length)}${n}`, tag: 'ack:string-129' }),
    () => ({ value: 'z'.repeat(r.pick([1_000, 30_000])), tag: 'ack:long-string' }),
    () => ({ value: new Raw('1e999'), tag: 'ack:1e999' }),
    // accepted
    () => ({ value: `${'a'.repeat(128 - String(n).length)}${n}`, tag: 'ack:string-128' }),
    () => ({ value: String(n), tag: 'ack:numeric-string' }),
    () => ({ value: `${n}\u0000`, tag: 'ack:NUL' }),
    () => ({ value: `\ud800${n}`, tag: 'ack:lone-surrogate' }),
    () => ({ value: `${n}😀`, tag: 'ack:emoji' }),
    () => ({ value: '', tag: 'ack:""' }),
    () => ({ value: n + 0.5, tag: 'ack:fraction' }),
    () => ({ value: -n, tag: 'ack:negative' }),
    () => ({ value: 0, tag: 'ack:0' }),
    () => ({ value: new Raw('-0'), tag: 'ack:-0' }),
    () => ({ value: 2 ** 31 + n, tag: 'ack:2^31+n' }),
    () => ({ value: new Raw('9223372036854775807'), tag: 'ack:2^63-1' }),
    () => ({ value: new Raw(`${n}e0`), tag: 'ack:exp-form' }),
    () => ({ value: 1e300, tag: 'ack:1e300' }),
    () => ({ value: 5e-324, tag: 'ack:denormal' }),
  ])();
}
