import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeJwt, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretWeakness } from '../../src/bootstrap/config.js';
import { freshDatabase } from '../support/database.js';
import { killAll, PROCESS_TEST_ENV, startProcess, startServerProcess, TEST_JWT_SECRET } from '../support/server-process.js';
import { WsClient } from '../support/ws-client.js';

type Server = Awaited<ReturnType<typeof startServerProcess>>;
let server: Server;

beforeAll(async () => {
  server = await startServerProcess();
}, 60_000);

afterAll(async () => {
  await server?.stop();
  killAll();
});

/** An HS256 token signed with the server's secret, with whatever claims a forger chooses. */
const forge = (claims: Record<string, unknown>, secret = TEST_JWT_SECRET) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt().setExpirationTime('5m').sign(new TextEncoder().encode(secret));

/** What REST, the /ws upgrade and the Socket.IO handshake each answer a token with (status and error code). */
async function answersTo(s: Server, token: string) {
  const rest = await s.http.get('/users/me', token);
  const ws = await WsClient.connect(s.wsUrl, token).then(
    (c) => (c.socket.terminate(), 101),
    (e: { status?: number }) => e.status,
  );
  const sio = await fetch(`http://127.0.0.1:${s.port}/socket.io/?EIO=4&transport=polling&token=${encodeURIComponent(token)}`);
  const sioBody = sio.status === 200 ? null : ((await sio.json()) as { error: { code: string } });
  return { rest: [rest.status, rest.body?.error?.code ?? 'ok'], ws, socketIo: [sio.status, sioBody?.error.code ?? 'ok'] };
}
const ACCEPTED = { rest: [200, 'ok'], ws: 101, socketIo: [200, 'ok'] };
const REFUSED = { rest: [401, 'UNAUTHORIZED'], ws: 401, socketIo: [401, 'UNAUTHORIZED'] };

async function signUp(s: Server) {
  const name = `t${Date.now()}${Math.random().toString(36).slice(2, 8)}`;
  const res = await s.http.post('/auth/register', { email: `${name}@example.com`, username: name, password: 'correct horse', role: 'tenant' });
  expect(res.status).toBe(201);
  return res.body as { user: { id: number }; token: string; refresh_token: string };
}

describe('the JWT secret at start-up', () => {
  let databaseUrl: string;
  beforeAll(async () => {
    databaseUrl = await freshDatabase('secret');
  });

  /** Starts the real entry point: its exit code once refused, or 0 after it listened and was stopped. */
  async function startUp(env: Record<string, string>) {
    const proc = await startProcess({ ...PROCESS_TEST_ENV, DATABASE_URL: databaseUrl, ...env }, /"listening on|Invalid configuration/);
    const listened = proc.output().includes('listening on');
    if (listened) proc.child.kill('SIGTERM');
    return { code: await proc.exited, listened, output: proc.output() };
  }

  it('refuses a weak JWT_SECRET in development and test modes too, with exit 78 and the reason', async () => {
    for (const [mode, secret, reason] of [
      ['development', 'secret', /JWT_SECRET: must be at least 32 bytes/],
      ['test', 'test-secret-test-secret-test-secret-0123', /JWT_SECRET: has too little entropy/],
    ] as const) {
      const { code, listened, output } = await startUp({ NODE_ENV: mode, JWT_SECRET: secret });
      expect({ mode, code, listened }).toEqual({ mode, code: 78, listened: false });
      expect(output).toMatch(reason);
      expect(output).not.toContain(secret);
    }
  }, 60_000);

  it('starts with a weak secret only when JWT_SECRET_ALLOW_WEAK=true, which production refuses', async () => {
    const allowed = await startUp({ NODE_ENV: 'development', JWT_SECRET: 'secret', JWT_SECRET_ALLOW_WEAK: 'true' });
    expect([allowed.listened, allowed.code]).toEqual([true, 0]);
    const production = await startUp({ NODE_ENV: 'production', JWT_SECRET: TEST_JWT_SECRET, JWT_SECRET_ALLOW_WEAK: 'true' });
    expect([production.listened, production.code]).toEqual([false, 78]);
    expect(production.output).toMatch(/JWT_SECRET_ALLOW_WEAK: not allowed with NODE_ENV=production/);
  }, 60_000);

  it('without JWT_SECRET (outside production) generates a strong one under DATA_DIR and keeps it; a kept one edited into a weak one stops start-up with exit 78', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'chat-secret-'));
    try {
      const first = await startUp({ NODE_ENV: 'development', JWT_SECRET: '', DATA_DIR: dataDir });
      expect([first.listened, first.code]).toEqual([true, 0]);
      const kept = readFileSync(path.join(dataDir, 'jwt-secret'), 'utf8').trim();
      expect(secretWeakness(kept)).toBeNull();
      const again = await startUp({ NODE_ENV: 'development', JWT_SECRET: '', DATA_DIR: dataDir });
      expect([again.listened, again.code]).toEqual([true, 0]);
      expect(readFileSync(path.join(dataDir, 'jwt-secret'), 'utf8').trim()).toBe(kept);
      writeFileSync(path.join(dataDir, 'jwt-secret'), 'secret\n');
      const weakened = await startUp({ NODE_ENV: 'development', JWT_SECRET: '', DATA_DIR: dataDir });
      expect([weakened.listened, weakened.code]).toEqual([false, 78]);
      expect(weakened.output).toMatch(/the JWT secret kept there must be at least 32 bytes/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('HS256 tokens must name a session of their own user', () => {
  it('refuses a token without sid unless a provider sharing the secret is configured (JWT_USER_ID_CLAIM set); then it is accepted', async () => {
    const me = await signUp(server);
    expect(await answersTo(server, me.token)).toEqual(ACCEPTED);
    expect(await answersTo(server, await forge({ sub: String(me.user.id) }))).toEqual(REFUSED);
    const provider = await startServerProcess({ JWT_USER_ID_CLAIM: 'sub' });
    try {
      const them = await signUp(provider);
      expect(await answersTo(provider, await forge({ sub: String(them.user.id) }))).toEqual(ACCEPTED);
    } finally {
      await provider.stop();
    }
  }, 60_000);

  it('refuses a sid that is not a session id with 401 UNAUTHORIZED (not 500) on REST, the upgrade and Socket.IO', async () => {
    const me = await signUp(server);
    for (const sid of ['not-a-uuid', "' OR 1=1 --", 'A'.repeat(64), decodeJwt(me.token).sid!.toString().toUpperCase(), 7]) {
      expect({ sid, ...(await answersTo(server, await forge({ sub: String(me.user.id), sid }))) }).toEqual({ sid, ...REFUSED });
    }
    // The server is fine afterwards.
    expect(await answersTo(server, me.token)).toEqual(ACCEPTED);
  });

  it('refuses a token carrying another user’s session, also when both are cached', async () => {
    const [alice, bob] = [await signUp(server), await signUp(server)];
    // Both users and alice's session are now in the profile cache.
    expect(await answersTo(server, alice.token)).toEqual(ACCEPTED);
    expect(await answersTo(server, bob.token)).toEqual(ACCEPTED);
    const bobWithAlicesSession = await forge({ sub: String(bob.user.id), sid: decodeJwt(alice.token).sid });
    expect(await answersTo(server, bobWithAlicesSession)).toEqual(REFUSED);
  });
});

describe('two concurrent refreshes with one refresh token', () => {
  it('end the session every time in 50 races: one pair is handed out, and both refresh tokens and both access tokens are dead after', async () => {
    const outcomes: unknown[] = [];
    for (let race = 0; race < 50; race++) {
      const me = await signUp(server);
      const answers = await Promise.all([1, 2].map(() => server.http.post('/auth/refresh', { refresh_token: me.refresh_token })));
      const winner = answers.find((a) => a.status === 200)?.body as { token: string; refresh_token: string } | undefined;
      outcomes.push({
        refreshes: answers.map((a) => a.status).sort(),
        newRefreshToken: winner ? (await server.http.post('/auth/refresh', { refresh_token: winner.refresh_token })).status : 'none',
        newAccessToken: winner ? (await server.http.get('/users/me', winner.token)).status : 'none',
        oldAccessToken: (await server.http.get('/users/me', me.token)).status,
        oldRefreshToken: (await server.http.post('/auth/refresh', { refresh_token: me.refresh_token })).status,
      });
    }
    const expected = { refreshes: [200, 401], newRefreshToken: 401, newAccessToken: 401, oldAccessToken: 401, oldRefreshToken: 401 };
    expect(outcomes).toEqual(Array.from({ length: 50 }, () => expected));
  }, 120_000);
});
