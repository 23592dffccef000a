import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/database.js';
import { HttpClient } from '../support/http-client.js';
import { killAll, PROCESS_TEST_ENV, startProcess, type ServerProcess } from '../support/server-process.js';
import { WsClient } from '../support/ws-client.js';

const PUBLIC_URL = 'https://chat.example.com';
const LINK = /https:\/\/chat\.example\.com\/#reset_token=([A-Za-z0-9_-]{43})\r?\n/;
const SAME_ANSWER = { accepted: true, message: 'If an account has this address, a link to reset its password is on its way' };

interface Received {
  readonly to: string[];
  readonly raw: string;
}

/** The message as a mail client shows it: long lines come quoted-printable (soft breaks, `=3D` for `=`). */
const decodeQuotedPrintable = (raw: string) =>
  raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));

/** A real SMTP server on loopback that keeps every message it is given. */
const inbox: Received[] = [];
const waiters: Array<() => void> = [];
const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onData(stream, session, callback) {
    let raw = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (raw += chunk));
    stream.on('end', () => {
      inbox.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: decodeQuotedPrintable(raw) });
      for (const wake of waiters.splice(0)) wake();
      callback();
    });
  },
});

/** The `n`th message (1-based) delivered to `address`, waiting for it. */
async function mailTo(address: string, n = 1, timeoutMs = 10_000): Promise<Received> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mine = inbox.filter((m) => m.to.includes(address));
    if (mine.length >= n) return mine[n - 1]!;
    if (Date.now() > deadline) throw new Error(`no message #${n} to ${address} within ${timeoutMs} ms`);
    await new Promise<void>((resolve) => {
      waiters.push(resolve);
      setTimeout(resolve, 200);
    });
  }
}

/** The token in the link of the `n`th message to `address`. */
async function tokenMailedTo(address: string, n = 1): Promise<string> {
  const mail = await mailTo(address, n);
  const token = LINK.exec(mail.raw)?.[1];
  expect(token, mail.raw).toMatch(/^[A-Za-z0-9_-]{43}$/);
  return token!;
}

let databaseUrl: string;
let db: pg.Client;
let p1: ServerProcess, p2: ServerProcess;
let http1: HttpClient, http2: HttpClient;
const sockets: WsClient[] = [];

beforeAll(async () => {
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const smtpPort = (smtp.server.address() as AddressInfo).port;
  databaseUrl = await freshDatabase('reset');
  const env = {
    ...PROCESS_TEST_ENV,
    DATABASE_URL: databaseUrl,
    SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    MAIL_FROM: 'Chat <no-reply@chat.example.com>',
    PUBLIC_URL,
    PASSWORD_RESETS_PER_ACCOUNT_PER_HOUR: '20',
  };
  // One after the other: the first applies the migrations.
  p1 = await startProcess(env);
  p2 = await startProcess(env);
  http1 = new HttpClient(`http://127.0.0.1:${p1.port}`);
  http2 = new HttpClient(`http://127.0.0.1:${p2.port}`);
  db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.socket.terminate();
  killAll();
  await db?.end();
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
});

async function signUp() {
  const username = `r${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;
  const email = `${username}@example.com`;
  const res = await http1.post('/auth/register', { email, username, password: 'old password', role: 'tenant' });
  expect(res.status).toBe(201);
  return { email, username, id: res.body.user.id as number, token: res.body.token as string, refreshToken: res.body.refresh_token as string };
}

describe('password reset by mail', () => {
  it('mails a link whose token sets the new password once; every earlier session ends, on every process', async () => {
    const user = await signUp();
    const ws1 = await WsClient.connect(`ws://127.0.0.1:${p1.port}/ws`, user.token);
    const ws2 = await WsClient.connect(`ws://127.0.0.1:${p2.port}/ws`, user.token);
    sockets.push(ws1, ws2);

    const asked = await http2.post('/auth/password/forgot', { email: user.email.toUpperCase() });
    expect([asked.status, asked.body]).toEqual([202, SAME_ANSWER]);
    const mail = await mailTo(user.email);
    expect(mail.raw).toMatch(/^Subject: Reset your password\r?$/m);
    expect(mail.raw).toMatch(/^From: Chat <no-reply@chat\.example\.com>\r?$/m);
    const token = await tokenMailedTo(user.email);

    const reset = await http1.post('/auth/password/reset', { token, password: 'new password' });
    expect(reset.status).toBe(204);
    const [c1, c2] = await Promise.all([ws1.closed, ws2.closed]);
    expect([c1.code, c2.code]).toEqual([4001, 4001]);
    expect((await http2.post('/auth/refresh', { refresh_token: user.refreshToken })).status).toBe(401);
    expect((await http1.get('/users/me', user.token)).status).toBe(401);
    expect((await http1.post('/auth/login', { email: user.email, password: 'old password' })).status).toBe(401);
    expect((await http2.post('/auth/login', { email: user.email, password: 'new password' })).status).toBe(200);

    const again = await http2.post('/auth/password/reset', { token, password: 'third password' });
    expect([again.status, again.body.error?.code ?? again.body.code]).toEqual([400, 'RESET_TOKEN_INVALID']);
    expect((await http1.post('/auth/login', { email: user.email, password: 'new password' })).status).toBe(200);
  });

  it('refuses an expired token, one replaced by a newer one and a tampered one with RESET_TOKEN_INVALID; a bad password leaves the token usable', async () => {
    const user = await signUp();
    const codeOf = async (token: string, password = 'next password') => {
      const r = await http1.post('/auth/password/reset', { token, password });
      return `${r.status} ${r.body?.error?.code ?? r.body?.code ?? ''}`.trim();
    };

    expect((await http1.post('/auth/password/forgot', { email: user.email })).status).toBe(202);
    const first = await tokenMailedTo(user.email, 1);
    expect((await http1.post('/auth/password/forgot', { email: user.email })).status).toBe(202);
    const second = await tokenMailedTo(user.email, 2);
    expect(await codeOf(first)).toBe('400 RESET_TOKEN_INVALID');

    await db.query(`UPDATE password_resets SET created_at = now() - interval '31 minutes', expires_at = now() - interval '1 minute' WHERE user_id = $1`, [
      user.id,
    ]);
    expect(await codeOf(second)).toBe('400 RESET_TOKEN_INVALID');

    expect((await http1.post('/auth/password/forgot', { email: user.email })).status).toBe(202);
    const third = await tokenMailedTo(user.email, 3);
    const tampered = `${third.slice(0, -1)}${third.endsWith('A') ? 'B' : 'A'}`;
    expect(await codeOf(tampered)).toBe('400 RESET_TOKEN_INVALID');
    expect(await codeOf('not-a-token')).toBe('400 RESET_TOKEN_INVALID');
    expect(await codeOf(third, 'short')).toBe('400 VALIDATION_FAILED');
    expect(await codeOf(third)).toBe('204');
    expect((await http1.post('/auth/login', { email: user.email, password: 'next password' })).status).toBe(200);
  });

  it('answers a known, an unknown and a deactivated address with the same status and body, and mails only the known one', async () => {
    const known = await signUp();
    const gone = await signUp();
    expect((await http1.del('/users/me', gone.token)).status).toBe(204);
    const unknown = `nobody${Date.now()}@example.com`;
    const noAccountLines = () => p1.output().split('no active account has this address').length - 1;
    const before = noAccountLines();

    const answers = [];
    for (const email of [unknown, gone.email, known.email]) {
      const r = await http1.post('/auth/password/forgot', { email });
      answers.push({ status: r.status, body: r.body });
    }
    expect(answers).toEqual([
      { status: 202, body: SAME_ANSWER },
      { status: 202, body: SAME_ANSWER },
      { status: 202, body: SAME_ANSWER },
    ]);

    await mailTo(known.email);
    // Both requests without a mail have been looked up (the log says so), and nothing reached their addresses.
    await p1.waitFor(new RegExp(`(no active account has this address[\\s\\S]*){${before + 2}}`));
    expect(noAccountLines()).toBe(before + 2);
    expect(inbox.filter((m) => m.to.includes(unknown) || m.to.includes(gone.email))).toEqual([]);
  });

  it('limits reset requests per client address with 429 RATE_LIMITED and Retry-After, whatever the address asked for', async () => {
    const limited = await startProcess({ ...PROCESS_TEST_ENV, DATABASE_URL: databaseUrl, RATE_LIMITS: 'on', PASSWORD_RESETS_PER_IP_PER_MINUTE: '2' });
    const http = new HttpClient(`http://127.0.0.1:${limited.port}`);
    const statuses = [];
    for (const email of ['a@example.com', 'b@example.com', 'c@example.com']) statuses.push((await http.post('/auth/password/forgot', { email })).status);
    expect(statuses).toEqual([202, 202, 429]);
    const refused = await http.post('/auth/password/forgot', { email: 'd@example.com' });
    expect([refused.status, refused.body.error.code, Number(refused.headers.get('retry-after'))]).toEqual([429, 'RATE_LIMITED', expect.any(Number)]);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('mails a link it has promised before the process stops on SIGTERM, even from a slow mail server', async () => {
    const slowInbox: string[] = [];
    const slow = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      // The greeting comes after a second: the send is still under way when the signal arrives.
      onConnect: (_session, callback) => void setTimeout(callback, 1_000),
      onData(stream, session, callback) {
        stream.resume();
        stream.on('end', () => (slowInbox.push(...session.envelope.rcptTo.map((r) => r.address)), callback()));
      },
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    try {
      const stopping = await startProcess({
        ...PROCESS_TEST_ENV,
        DATABASE_URL: databaseUrl,
        SMTP_URL: `smtp://127.0.0.1:${(slow.server.address() as AddressInfo).port}`,
      });
      const user = await signUp();
      const asked = await new HttpClient(`http://127.0.0.1:${stopping.port}`).post('/auth/password/forgot', { email: user.email });
      expect(asked.status).toBe(202);
      stopping.child.kill('SIGTERM');
      expect(await stopping.exited).toBe(0);
      expect(slowInbox).toEqual([user.email]);
    } finally {
      await new Promise<void>((resolve) => slow.close(() => resolve()));
    }
  });
});
