import { Obj, render, type J } from './json.js';
import { deepNest, junkId, junkText } from './junk.js';
import { paramKind, ROUTES, type RouteSpec } from './api-surface.js';
import { PayloadFactory } from './payloads.js';
import type { Prng } from './prng.js';
import type { FuzzUser, World } from './world.js';

/** One HTTP request, as raw as it goes on the wire. */
export interface RestRequest {
  readonly method: string;
  /** The request target's path, any characters (sent as UTF-8). */
  readonly path: string;
  readonly query: string | null;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer | null;
  readonly chunked: boolean;
  /** The route template it aims at, for grouping findings (`GET /conversations/:id`). */
  readonly route: string;
  readonly tags: readonly string[];
  /**
   * Breaks HTTP/1.1's grammar (raw spaces or bytes in the target, bad header
   * syntax, conflicting framing): closing the connection is as fine as a 4xx.
   */
  readonly malformed: boolean;
  /** Is a WebSocket upgrade (101 is a fine answer). */
  readonly upgrade: boolean;
  /** Bytes to send instead of rendering the fields (for framing the fields cannot express). */
  readonly raw?: Buffer;
}

const PATH_JUNK: ReadonlyArray<readonly [string, string, boolean]> = [
  // [tag, segment, breaks HTTP grammar]
  ['%', '%', false],
  ['%ZZ', '%ZZ', false],
  ['truncated-utf8-escape', '%E0%A4%A', false],
  ['%00', '%00', false],
  ['%2F', '1%2F2', false],
  ['..', '..', false],
  ['.', '.', false],
  ['%2e%2e', '%2e%2e', false],
  ['encoded-unicode', '%E6%97%A5', false],
  ['overlong-escape', '%C0%AE', false],
  ['20-digits', '99999999999999999999', false],
  ['2^31', '2147483648', false],
  ['2^53+1', '9007199254740993', false],
  ['15-nines', '999999999999999', false],
  ['-1', '-1', false],
  ['0', '0', false],
  ['1.5', '1.5', false],
  ['1e3', '1e3', false],
  ['%201', '%201', false],
  ['+1', '+1', false],
  ['0x1', '0x1', false],
  ['leading-zeros', '0001', false],
  ['empty', '', false],
  ['long-digits', '1'.repeat(5_000), false],
  ['semicolon', '1;x=y', false],
  ['encoded-?', '1%3Fa', false],
  ['encoded-#', '1%23a', false],
  ['fullwidth-digit-escaped', '%EF%BC%91', false],
  ['raw-unicode', '日本', true],
  ['raw-fullwidth-digit', '１', true],
  ['raw-space', '1 2', true],
  ['raw-control', '1\u0001', true],
  ['raw-NUL', '1\u0000', true],
  ['raw-DEL', '\u007f', true],
];

/** Query values; all legal in a request target (non-ASCII and spaces percent-encoded). */
const QUERY_JUNK = [
  '',
  'abc',
  '-1',
  '0',
  '1.5',
  '1e2',
  '101',
  '100',
  '2147483648',
  '9007199254740993',
  '%zz',
  '%00',
  '%201',
  '%205',
  '+5',
  '[]',
  'null',
  'true',
  '%EF%BC%91',
  '0x10',
  '%E6%97%A5',
];

/**
 * Mutated requests to every route: paths, query strings, methods, headers
 * and bodies, from valid ones of each route.
 */
export class RestRequestGenerator {
  private readonly payloads: PayloadFactory;
  private disposableNext = 0;

  constructor(
    private readonly r: Prng,
    private readonly world: World,
    private readonly me: FuzzUser,
    private readonly options: { host: string; port: number; maxBodyBytes: number; allowedOrigin?: string; disposable: FuzzUser[] },
    label: string,
  ) {
    this.payloads = new PayloadFactory(r, world, me, label);
  }

  next(): RestRequest {
    const r = this.r;
    if (r.chance(0.04)) return this.upgrade();
    if (r.chance(0.02)) return this.malformedFraming();
    const spec = r.pick(ROUTES);
    const tags: string[] = [`${spec.method} ${spec.pattern}`];
    let malformed = false;
    let route = `${spec.method} ${spec.pattern}`;

    // Path
    const template = spec.pattern.split('/').slice(1);
    const segments = template.map((s, i) => (s.startsWith(':') ? this.paramValue(template[i - 1] ?? '') : s));
    const params = template.flatMap((s, i) => (s.startsWith(':') ? [i] : []));
    if (params.length && r.chance(0.35)) {
      const at = r.pick(params);
      const [tag, junk, breaks] = r.pick(PATH_JUNK);
      segments[at] = junk;
      tags.push(`path:${tag}`);
      malformed ||= breaks;
    }
    let path = `/${segments.join('/')}`;
    if (r.chance(0.06)) {
      const shape = r.int(0, 7);
      const shaped = [
        `${path}/`,
        `/${path}`,
        path.toUpperCase(),
        `${path}//`,
        `/.${path}`,
        `/..${path}`,
        `${path}/%2e%2e/%2e%2e`,
        `/${'x/'.repeat(r.pick([10, 1_000]))}`,
      ][shape]!;
      tags.push(
        `path-shape:${['trailing-slash', 'double-slash', 'upper-case', 'double-trailing', 'dot-prefix', 'dotdot-prefix', 'encoded-dotdot', 'deep'][shape]}`,
      );
      path = shaped;
    }
    if (r.chance(0.02)) {
      path = r.pick(['/', '/nowhere', '/conversations/1/unknown', '/%', '/socket.io', '/ws/extra', '/healthz/..', '/auth', '/auth/register/x']);
      tags.push('path:unknown');
      route = 'unknown path';
    }

    // Query
    let query: string | null = null;
    if (spec.query.length) {
      const parts: string[] = [];
      for (const key of spec.query) {
        if (!r.chance(0.5)) continue;
        const valid = key === 'limit' ? String(r.int(1, 100)) : key === 'cursor' ? 'MTIz' : String(this.payloads.messageId());
        const value = r.chance(0.5) ? r.pick(QUERY_JUNK) : valid;
        if (value !== valid) tags.push(`query:${key}=${value.slice(0, 20)}`);
        parts.push(`${key}=${value}`);
        if (r.chance(0.1)) {
          parts.push(`${key}=${r.pick(QUERY_JUNK)}`);
          tags.push(`query:repeated-${key}`);
        }
      }
      if (r.chance(0.05)) {
        parts.push(r.pick(['before[]=1', 'limit[a]=2', '=', '&&&', 'a=%', `x=${'y'.repeat(8_000)}`, 'limit', 'token=abc']));
        tags.push('query:junk-part');
      }
      if (parts.length) query = parts.join('&');
    } else if (r.chance(0.03)) {
      query = r.pick(['', '=', '%', 'a=%E0%A4%A', `x=${'y'.repeat(4_000)}`, 'token=abc']);
      tags.push('query:junk');
    }

    // Method
    let method = spec.method;
    if (r.chance(0.05)) {
      method = r.pick(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'BREW', 'get', 'M'.repeat(100)]);
      if (method !== spec.method) tags.push(`method:${method.slice(0, 12)}`);
    }

    // Headers
    const headers: Array<[string, string]> = [];
    const auth = this.authorization(spec, sessionRisk(method, path));
    if (auth) {
      headers.push(['Authorization', auth.value]);
      if (auth.tag) tags.push(auth.tag);
    }
    if (r.chance(0.08)) {
      const origin = r.pick([
        this.options.allowedOrigin ?? 'http://localhost:3000',
        'http://evil.example',
        'null',
        '',
        'http://x'.repeat(2_000),
        '\u00ff\u00fe',
      ]);
      headers.push(['Origin', origin]);
      tags.push(`origin:${origin === this.options.allowedOrigin ? 'allowed' : origin.slice(0, 20)}`);
    }
    if (r.chance(0.04)) {
      const extra = r.pick<[string, string]>([
        ['X-Forwarded-For', 'not-an-ip, ::1, 999.1.1.1'],
        ['Accept', '*/*;q=bad'],
        ['Connection', 'keep-alive, Upgrade'],
        ['Upgrade', 'websocket'],
        ['Expect', '100-continue'],
        ['Accept-Encoding', 'gzip, br, zstd'],
        ['Cookie', `a=${'b'.repeat(3_000)}`],
        ['X-Junk', '\u00e9\u00e8'],
      ]);
      headers.push(extra);
      tags.push(`header:${extra[0]}`);
    }
    if (r.chance(0.004)) {
      for (let i = 0; i < 100; i++) headers.push([`X-Many-${i}`, 'x']);
      tags.push('header:100-headers');
    }

    // Body
    let body: Buffer | null = null;
    let chunked = false;
    const hasBody = spec.body !== undefined || r.chance(0.05);
    if (hasBody) {
      const b = this.body(spec);
      body = b.bytes;
      tags.push(...b.tags);
      const ct = r.weighted<string | null>([
        [85, 'application/json'],
        [3, null],
        [3, 'text/plain'],
        [2, 'application/json; charset=latin1'],
        [2, 'application/x-www-form-urlencoded'],
        [2, 'multipart/form-data; boundary=x'],
        [1, `application/${'j'.repeat(5_000)}`],
      ]);
      if (ct !== null) headers.push(['Content-Type', ct]);
      if (ct !== 'application/json') tags.push(`content-type:${ct === null ? 'none' : ct.slice(0, 24)}`);
      if (r.chance(0.08)) {
        chunked = true;
        tags.push('body:chunked');
      }
    }
    return { method, path, query, headers, body, chunked, route, tags, malformed, upgrade: false };
  }

  /** A request that may end sessions only ever carries a throwaway account's token (`risk`). */
  private authorization(spec: RouteSpec, risk: SessionRisk): { value: string; tag?: string } | null {
    const r = this.r;
    const w = this.world;
    const valid = (): string => {
      if (risk === 'own') {
        // Spend a throwaway account; once they are gone, their tokens are refused.
        const user = this.options.disposable[this.disposableNext++];
        return user ? user.token : w.deletedToken;
      }
      // Its other sessions may end, never the one of the token it sends.
      if (risk === 'others') return r.pick(this.options.disposable).token;
      return r.pick([this.me.token, w.alice.token, w.bob.token, w.carol.token, w.mallory.token]);
    };
    const kind = r.weighted<string>([
      [spec.auth ? 78 : 60, 'valid'],
      [spec.auth ? 0 : 20, 'none'],
      [6, 'bad-token'],
      [12, 'junk'],
      [2, 'missing'],
    ]);
    if (kind === 'none' || kind === 'missing') return null;
    if (kind === 'valid') return { value: `Bearer ${valid()}` };
    if (kind === 'bad-token') {
      const [name, token] = r.pick(w.badTokens);
      return { value: `Bearer ${token}`, tag: `auth:${name}` };
    }
    const token = valid();
    const junk = r.pick<[string, string]>([
      ['bearer-lower', `bearer ${token}`],
      ['no-scheme', token],
      ['basic', `Basic ${Buffer.from('alice:pw').toString('base64')}`],
      ['bearer-only', 'Bearer'],
      ['bearer-space', 'Bearer '],
      ['two-tokens', `Bearer ${token} ${token}`],
      ['tabs', `Bearer\t${token}`],
      ['huge-4k', `Bearer ${'A'.repeat(4_000)}`],
      ['huge-12k', `Bearer ${'A'.repeat(12_000)}`],
      ['latin1', 'Bearer \u00e9\u00e8\u00ff'],
      ['NUL-escape', 'Bearer %00'],
      ['token-plus-junk', `Bearer ${token}x`],
      ['token-truncated', `Bearer ${token.slice(0, -1)}`],
    ]);
    return { value: junk[1], tag: `auth:${junk[0]}` };
  }

  private body(spec: RouteSpec): { bytes: Buffer; tags: string[] } {
    const r = this.r;
    const tags: string[] = [];
    let data: J = this.validBody(spec);
    const rounds = r.weighted([
      [25, 0],
      [45, 1],
      [20, 2],
      [10, 3],
    ]);
    for (let i = 0; i < rounds; i++) {
      const m = this.payloads.mutateObject(spec.body ?? { content: 'text' }, data);
      data = m.data;
      tags.push(m.tag);
    }
    let text = render(data);
    const wire = r.weighted<string>([
      [82, 'none'],
      [3, 'truncate'],
      [2, 'garbage'],
      [2, 'empty'],
      [1.5, 'deep'],
      [1, 'pad-under'],
      [1, 'pad-over'],
      [1, 'NUL-bytes'],
      [1, 'invalid-utf8'],
      [1, 'utf16'],
      [1, 'bom'],
      [0.5, 'form'],
    ]);
    if (wire !== 'none') tags.push(`body:${wire}`);
    const max = this.options.maxBodyBytes;
    switch (wire) {
      case 'truncate':
        text = text.slice(0, r.int(0, Math.max(0, text.length - 1)));
        break;
      case 'garbage':
        text = r.chance(0.5) ? `${text}}` : `x${text}`;
        break;
      case 'empty':
        text = '';
        break;
      case 'deep':
        text = render(r.chance(0.5) ? deepNest(r.pick([1_000, 20_000]), '[', ']') : deepNest(r.pick([1_000, 10_000]), '{"a":', '}', '1'));
        break;
      case 'pad-under':
      case 'pad-over': {
        const target = wire === 'pad-under' ? max - r.int(0, 1) : r.pick([max + 1, 4 * max]);
        tags.push(`body-size:${target}`);
        const filler = Math.max(0, target - Buffer.byteLength(text) - ',"_pad":""'.length);
        text =
          text.startsWith('{') && text.length > 2
            ? `${text.slice(0, -1)},"_pad":"${'p'.repeat(filler)}"}`
            : text + ' '.repeat(Math.max(0, target - Buffer.byteLength(text)));
        break;
      }
      case 'NUL-bytes':
        return { bytes: Buffer.concat([Buffer.from(text), Buffer.from([0, 0, 0])]), tags };
      case 'invalid-utf8': {
        const b = Buffer.from(text.replace(/"(fuzz|edited|correct)/, '"\u0001$1'));
        const at = b.indexOf(1);
        if (at >= 0) b[at] = 0xff;
        return { bytes: b, tags };
      }
      case 'utf16':
        return { bytes: Buffer.from(`\ufeff${text}`, 'utf16le'), tags };
      case 'bom':
        return { bytes: Buffer.from(`\ufeff${text}`), tags };
      case 'form':
        text = 'content=hi&conversation_id=1';
        break;
    }
    return { bytes: Buffer.from(text), tags };
  }

  /** A valid value for a path parameter, by what the segment before it names. */
  private paramValue(previousSegment: string): string {
    switch (paramKind(previousSegment)) {
      case 'conversation':
        return String(this.payloads.conversationId());
      case 'message':
        return String(this.payloads.messageId());
      case 'user':
        return String(this.payloads.userId());
      case 'session':
      case 'upload': {
        const hex = Buffer.from(this.r.bytes(16)).toString('hex');
        return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
      }
      case 'webhook':
      case 'report':
        return String(this.r.int(1, 20));
      case 'emoji':
        return encodeURIComponent(['👍', '🎉', '🇫🇷', '👍🏽'][this.r.int(0, 3)]!);
      case 'other':
        return String(this.r.int(1, 1_000));
    }
  }

  private validBody(spec: RouteSpec): J {
    const r = this.r;
    const w = this.world;
    const n = this.payloads.serial();
    switch (spec.pattern) {
      case '/auth/register': {
        const username = `reg_${this.payloads.label}_${n}`;
        return Obj.of({ email: `${username}@fuzz.example`, username, password: 'correct horse battery', role: r.pick(['tenant', 'landlord']) });
      }
      case '/auth/login':
        return r.chance(0.5)
          ? Obj.of({ username: this.me.username, password: r.chance(0.5) ? 'correct horse battery' : 'wrong password' })
          : Obj.of({ email: `${this.me.username}@fuzz.example`, password: 'correct horse battery' });
      case '/conversations':
        return r.chance(0.5)
          ? Obj.of({ participant_ids: [this.payloads.userId()] })
          : Obj.of({ participant_ids: [w.bob.id, w.carol.id], title: `group ${n}`, is_open: r.chance(0.5) });
      case '/auth/refresh':
        return Obj.of({ refresh_token: Buffer.from(r.bytes(32)).toString('base64url') });
      case '/users/me/password':
        // The same password again: the account keeps working, whichever throwaway it is.
        return Obj.of({ current_password: r.chance(0.5) ? 'correct horse battery' : 'wrong password', new_password: 'correct horse battery' });
      case '/conversations/:id/participants':
        return Obj.of({ user_id: this.payloads.userId() });
      case '/conversations/:id/messages': {
        const o = Obj.of({ content: `rest ${this.payloads.label} ${n}` });
        if (r.chance(0.3)) o.entries.push(['client_id', `rest-${this.payloads.label}-${n}`]);
        return o;
      }
      case '/messages/:id':
        return Obj.of({ content: `rest edit ${n}` });
      case '/conversations/:id/read':
        return Obj.of({ message_id: this.payloads.messageId() });
      case '/uploads':
        return Obj.of({ name: `fuzz ${n}.pdf`, mime_type: r.pick(['application/pdf', 'image/png', 'text/html']), size: r.int(1, 40_000_000) });
      default:
        return Obj.of({ junk: junkText(r).value, id: junkId(r, 1).value });
    }
  }

  /** A `/ws` upgrade request, sometimes with a bad token, origin, key or version. */
  private upgrade(): RestRequest {
    const r = this.r;
    const tags = ['GET /ws (upgrade)'];
    let token: string | null = this.me.token;
    const headers: Array<[string, string]> = [
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Key', Buffer.from(r.bytes(16)).toString('base64')],
      ['Sec-WebSocket-Version', '13'],
    ];
    const m = r.int(0, 9);
    if (m === 0) {
      const [name, bad] = r.pick(this.world.badTokens);
      token = bad;
      tags.push(`auth:${name}`);
    } else if (m === 1) {
      token = null;
      headers.push(['Authorization', r.pick([`Bearer ${this.me.token}`, 'Bearer junk', `Bearer ${'A'.repeat(5_000)}`])]);
      tags.push('upgrade:authorization-header');
    } else if (m === 2) {
      headers.push(['Origin', r.pick(['http://evil.example', 'null', this.options.allowedOrigin ?? 'http://localhost:3000'])]);
      tags.push('upgrade:origin');
    } else if (m === 3) {
      headers[2] = ['Sec-WebSocket-Key', r.pick(['', 'short', '!!!!'])];
      tags.push('upgrade:bad-key');
    } else if (m === 4) {
      headers[3] = ['Sec-WebSocket-Version', r.pick(['8', '99', 'x'])];
      tags.push('upgrade:bad-version');
    } else if (m === 5) {
      headers.splice(2, 1);
      tags.push('upgrade:no-key');
    } else if (m === 6) {
      token = r.pick(['', '%', '%E0%A4%A', 'a'.repeat(10_000), `${this.me.token}&token=junk`]);
      tags.push('upgrade:junk-token');
    }
    const query = token === null ? null : `token=${token}`;
    return {
      method: 'GET',
      path: r.chance(0.1) ? '/ws/' : '/ws',
      query,
      headers,
      body: null,
      chunked: false,
      route: 'GET /ws (upgrade)',
      tags,
      malformed: false,
      upgrade: true,
    };
  }

  /** Requests whose HTTP framing itself is wrong: a 4xx or a closed connection are both fine. */
  private malformedFraming(): RestRequest {
    const r = this.r;
    const token = this.me.token;
    const body = '{"content":"hi"}';
    const path = `/conversations/${this.world.conversations.direct}/messages`;
    const [tag, raw] = r.pick<[string, string]>([
      ['no-version', `GET /healthz\r\n\r\n`],
      ['http-2.0', `GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n`],
      ['http-0.9', `GET /healthz\r\n`],
      ['bare-LF', `GET /healthz HTTP/1.1\nHost: x\n\n`],
      ['header-no-colon', `GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n`],
      ['header-name-space', `GET /healthz HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n`],
      ['obs-fold', `GET /users/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer\r\n ${token}\r\n\r\n`],
      [
        'CL-and-TE',
        `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
      ],
      [
        'two-CL',
        `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nContent-Length: 3\r\n\r\n${body}`,
      ],
      ['CL-negative', `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n`],
      ['CL-junk', `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n`],
      ['CL-plus', `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: +${body.length}\r\n\r\n${body}`],
      ['TE-junk', `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nTransfer-Encoding: gzip, chunked, identity\r\n\r\n0\r\n\r\n`],
      ['chunk-size-junk', `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n${body}\r\n0\r\n\r\n`],
      ['header-NUL', `GET /users/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\u0000x\r\n\r\n`],
      ['header-CR', `GET /users/me HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n`],
      ['huge-header-80k', `GET /users/me HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(80_000)}\r\n\r\n`],
      ['raw-space-in-target', `GET /conversations/1 2 HTTP/1.1\r\nHost: x\r\n\r\n`],
      ['no-leading-slash', `GET conversations HTTP/1.1\r\nHost: x\r\n\r\n`],
      ['absolute-form', `GET http://127.0.0.1:${this.options.port}/healthz HTTP/1.1\r\nHost: x\r\n\r\n`],
      ['asterisk-form', `OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n`],
      ['no-host', `GET /healthz HTTP/1.1\r\n\r\n`],
      ['binary-junk', Buffer.from(r.bytes(64)).toString('latin1')],
      ['request-line-only-CRLF', `\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`],
    ]);
    return {
      method: 'RAW',
      path: '',
      query: null,
      headers: [],
      body: null,
      chunked: false,
      route: 'malformed HTTP',
      tags: [`malformed:${tag}`],
      malformed: true,
      upgrade: false,
      raw: Buffer.from(raw, 'latin1'),
    };
  }
}

/**
 * Whether a request could reach DELETE /users/me however its path is spelt:
 * the fuzz's own users must survive it (their tokens drive the other channels).
 */
/**
 * `own`: the request may end the session of the token it carries (account
 * deletion, log-out); `others`: other sessions of its account (password
 * change, revoking a session). Judged on the path as sent, mutations included.
 */
type SessionRisk = 'own' | 'others' | null;
function sessionRisk(method: string, path: string): SessionRisk {
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // keep it raw
  }
  const m = method.toUpperCase();
  if (m === 'DELETE' && /users/i.test(decoded) && /me/i.test(decoded)) return 'own';
  if (m === 'POST' && /logout/i.test(decoded)) return 'own';
  if (m === 'DELETE' && /sessions/i.test(decoded)) return 'others';
  if (m === 'POST' && /password/i.test(decoded)) return 'others';
  return null;
}

export const STANDARD_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

/**
 * A trait of a request that servers treat before any route does (a method no
 * standard names, dozens of header lines), or '' when it has none: findings
 * about unanswered requests group by it rather than by route.
 */
export function transportTrait(req: RestRequest): string {
  if (req.raw) return '';
  if (!STANDARD_METHODS.has(req.method)) return 'a method outside the standard ones';
  if (req.headers.length + 1 > 40) return 'more than 40 header lines';
  return '';
}

/** The bytes of a request: its own `raw`, or the fields rendered as HTTP/1.1. */
export function renderRequest(req: RestRequest, host: string, keepAlive: boolean): Buffer {
  if (req.raw) return req.raw;
  const target = `${req.path}${req.query === null ? '' : `?${req.query}`}`;
  const lines = [`${req.method} ${target} HTTP/1.1`, `Host: ${host}`];
  for (const [k, v] of req.headers) lines.push(`${k}: ${v}`);
  if (!keepAlive || req.malformed) lines.push('Connection: close');
  let body = req.body ?? Buffer.alloc(0);
  if (req.chunked) {
    lines.push('Transfer-Encoding: chunked');
    const parts: Buffer[] = [];
    for (let i = 0; i < body.length; i += 1000) {
      const piece = body.subarray(i, i + 1000);
      parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from('0\r\n\r\n'));
    body = Buffer.concat(parts);
  } else if (req.body !== null) {
    lines.push(`Content-Length: ${req.body.length}`);
  }
  // Header values in latin1 where they fit (as HTTP has it), the target as UTF-8 bytes.
  const head = Buffer.concat([Buffer.from(`${lines[0]}\r\n`, 'utf8'), Buffer.from(`${lines.slice(1).join('\r\n')}\r\n\r\n`, 'latin1')]);
  return Buffer.concat([head, body]);
}

// eslint-disable-next-line no-control-regex -- control bytes are what it shows escaped
const UNPRINTABLE = /[\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f-\u00ff]/g;

/** A readable, exact-enough form of a request for a finding (bodies shortened). */
export function showRequest(req: RestRequest, bytes: Buffer): string {
  const text = bytes.toString('latin1');
  const shown = text.length > 1500 ? `${text.slice(0, 1000)}…[${text.length - 1400} more bytes]…${text.slice(-400)}` : text;
  return shown.replace(UNPRINTABLE, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`).replace(/\r\n/g, '\\r\\n\n');
}
