import { createHmac } from 'node:crypto';

export interface FuzzUser {
  readonly id: number;
  readonly token: string;
  readonly username: string;
}

/** The server under fuzz, as the engine reaches it. */
export interface FuzzTarget {
  readonly host: string;
  readonly port: number;
  /** The server's own process (not a wrapper), for liveness and RSS. */
  readonly pid: number;
  /**
   * The server collects garbage fully on SIGUSR2 (started with
   * bench/lib/gc-on-signal.ts): the memory check then compares what it holds
   * after a collection, not how far its heap has grown since the last one.
   */
  readonly collectGarbage?: boolean;
  readonly transport: 'uws' | 'node';
  /** MAX_FRAME_BYTES the server runs with. */
  readonly maxFrameBytes: number;
  /** MAX_BODY_BYTES the server runs with. */
  readonly maxBodyBytes: number;
  /** MAX_CONTENT_LENGTH the server runs with. */
  readonly maxContentLength: number;
  /** CORS_ORIGINS' first entry, if the server runs with one. */
  readonly allowedOrigin?: string;
  /** JWT_SECRET, when known: lets the fuzz sign tokens with hostile claims. */
  readonly jwtSecret?: string;
  /** Whether the process still runs. */
  alive(): boolean;
  /** Everything the server wrote so far (stdout and stderr). */
  output(): string;
}

/** Users, conversations and messages the fuzz aims at, made over the REST API. */
export interface World {
  readonly baseUrl: string;
  readonly wsUrl: string;
  readonly alice: FuzzUser;
  readonly bob: FuzzUser;
  readonly carol: FuzzUser;
  /** In no conversation of the others. */
  readonly mallory: FuzzUser;
  /** Users whose tokens may be spent on DELETE /users/me. */
  readonly disposable: FuzzUser[];
  readonly deletedToken: string;
  readonly conversations: { readonly direct: number; readonly group: number; readonly openGroup: number; readonly closedGroup: number };
  readonly messageIds: number[];
  /**
   * Hostile tokens by name: mostly ones that must be refused, a few odd but
   * valid ones. All name a user of their own, so whatever they are sent with
   * (DELETE /users/me included) touches no user the fuzz relies on.
   */
  readonly badTokens: ReadonlyArray<readonly [string, string]>;
}

async function call(baseUrl: string, method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function expectOk<T>(what: string, p: Promise<{ status: number; body: any }>): Promise<T> {
  const r = await p;
  if (r.status >= 300) throw new Error(`fuzz set-up: ${what} answered ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as T;
}

const b64 = (s: string) => Buffer.from(s).toString('base64url');

/** An HS256 JWT with any header and claims, signed with `secret`. */
export function signJwt(secret: string, claims: unknown, header: unknown = { alg: 'HS256', typ: 'JWT' }): string {
  const head = `${b64(JSON.stringify(header))}.${b64(typeof claims === 'string' ? claims : JSON.stringify(claims))}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

export async function buildWorld(target: FuzzTarget, runTag: string): Promise<World> {
  const baseUrl = `http://${target.host}:${target.port}`;
  let n = 0;
  const register = async (name: string): Promise<FuzzUser> => {
    const username = `${name}_${runTag}_${++n}`;
    const body = await expectOk<{ user: { id: number }; token: string }>(
      `register ${name}`,
      call(baseUrl, 'POST', '/auth/register', { email: `${username}@fuzz.example`, username, password: 'correct horse battery', role: 'tenant' }),
    );
    return { id: body.user.id, token: body.token, username };
  };
  const alice = await register('alice');
  const bob = await register('bob');
  const carol = await register('carol');
  const mallory = await register('mallory');
  const disposable: FuzzUser[] = [];
  for (let i = 0; i < 12; i++) disposable.push(await register('temp'));
  const gone = await register('gone');
  const victim = await register('victim');
  await expectOk('delete gone', call(baseUrl, 'DELETE', '/users/me', undefined, gone.token));

  const conv = (token: string, body: unknown) =>
    expectOk<{ id: number }>('create conversation', call(baseUrl, 'POST', '/conversations', body, token)).then((c) => c.id);
  const direct = await conv(alice.token, { participant_ids: [bob.id] });
  const group = await conv(alice.token, { participant_ids: [bob.id, carol.id], title: 'fuzz group' });
  const openGroup = await conv(carol.token, { participant_ids: [bob.id], title: 'open group', is_open: true });
  const closedGroup = await conv(mallory.token, { participant_ids: [carol.id], title: 'closed group' });

  const messageIds: number[] = [];
  const post = async (token: string, conversationId: number, content: string) =>
    messageIds.push((await expectOk<{ id: number }>('send', call(baseUrl, 'POST', `/conversations/${conversationId}/messages`, { content }, token))).id);
  for (let i = 0; i < 3; i++) {
    await post(alice.token, direct, `alice to bob ${i}`);
    await post(bob.token, direct, `bob to alice ${i}`);
    await post(alice.token, group, `alice to group ${i}`);
    await post(carol.token, group, `carol to group ${i}`);
    await post(carol.token, openGroup, `carol in the open group ${i}`);
    await post(mallory.token, closedGroup, `mallory in the closed group ${i}`);
  }

  const [, victimPayload] = victim.token.split('.');
  const badTokens: Array<[string, string]> = [
    ['garbage', 'not.a.jwt'],
    ['empty-parts', '..'],
    ['alg-none', `${b64('{"alg":"none","typ":"JWT"}')}.${victimPayload}.`],
    ['wrong-signature', `${victim.token.slice(0, -4)}AAAA`],
    ['deleted-user', gone.token],
    ['other-secret', signJwt('some-other-secret-some-other-secret!', { sub: String(victim.id), exp: 4102444800 })],
    ['over-4096', `${victim.token}.${'A'.repeat(4100)}`],
  ];
  const s = target.jwtSecret;
  if (s) {
    const far = 4102444800;
    const forged: Array<[string, unknown, unknown?]> = [
      ['sub-unknown-user', { sub: '987654321', exp: far }],
      ['sub-2^31', { sub: '2147483648', exp: far }],
      ['sub-number-2^31', { sub: 2147483648, exp: far }],
      ['sub-15-nines', { sub: '999999999999999', exp: far }],
      ['sub-0', { sub: '0', exp: far }],
      ['sub-negative', { sub: -1, exp: far }],
      ['sub-fraction', { sub: 1.5, exp: far }],
      ['sub-true', { sub: true, exp: far }],
      ['sub-object', { sub: { id: victim.id }, exp: far }],
      ['sub-"1e1"', { sub: '1e1', exp: far }],
      ['no-exp', { sub: String(victim.id) }],
      ['expired', { sub: String(victim.id), exp: 1000 }],
      ['exp-string', { sub: String(victim.id), exp: String(far) }],
      ['nbf-future', { sub: String(victim.id), exp: far, nbf: far - 10 }],
      ['refresh-token', { sub: String(victim.id), exp: far, token_type: 'refresh' }],
      ['claims-array', [1, 2, 3]],
      ['claims-not-json', '{"sub":'],
      ['header-HS512', { sub: String(victim.id), exp: far }, { alg: 'HS512', typ: 'JWT' }],
      ['header-not-object', { sub: String(victim.id), exp: far }, 'x'],
      ['huge-claims', { sub: String(victim.id), exp: far, pad: 'x'.repeat(2500) }],
      ['sub-deleted-user', { sub: String(gone.id), exp: far }],
    ];
    for (const [name, claims, header] of forged) badTokens.push([name, signJwt(s, claims, header)]);
  }
  return {
    baseUrl,
    wsUrl: `ws://${target.host}:${target.port}/ws`,
    alice,
    bob,
    carol,
    mallory,
    disposable,
    deletedToken: gone.token,
    conversations: { direct, group, openGroup, closedGroup },
    messageIds,
    badTokens,
  };
}

export { call as restCall };
