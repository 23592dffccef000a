import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, startServerProcess } from '../support/server-process.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Mail as it was received, quoted-printable undone (long lines are sent that way). */
const received: string[] = [];
const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onData(stream, _session, callback) {
    let raw = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (raw += chunk));
    stream.on('end', () => {
      received.push(raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))));
      callback();
    });
  },
});

let server: Awaited<ReturnType<typeof startServerProcess>> | null = null;
let browser: Browser | null = null;
const problems: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH`);
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  server = await startServerProcess({ SMTP_URL: `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`, PUBLIC_URL: 'http://app.invalid' });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
});

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await server?.stop().catch(() => undefined);
  killAll();
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
});

async function openPage(hash = ''): Promise<Page> {
  const context = await browser!.newContext();
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  page.on('console', (m) => void (m.type() === 'error' && !m.location().url.endsWith('/push/vapid-public-key') && problems.push(`console: ${m.text()}`)));
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(`http://127.0.0.1:${server!.port}/${hash}`);
  return page;
}

describe('password reset in the browser app', () => {
  it('asks for a link from under the log-in form, and the mailed link opens a form that sets the password; the token leaves the address bar', async () => {
    const username = `reset${Date.now().toString(36)}`;
    const email = `${username}@example.com`;
    expect((await server!.http.post('/auth/register', { email, username, password: 'old password', role: 'tenant' })).status).toBe(201);

    const page = await openPage();
    await page.getByRole('button', { name: 'Forgot password?' }).click();
    const forgot = page.locator('form[aria-label="Forgot password"]');
    await forgot.locator('input[name="email"]').fill(email);
    await forgot.getByRole('button', { name: 'Mail me a link' }).click();
    await expect.poll(() => forgot.getByRole('status').textContent()).toContain('If an account has this address');

    await expect.poll(() => received.find((m) => m.includes(`To: ${email}`)) ?? null, { timeout: 10_000 }).not.toBeNull();
    const token = /#reset_token=([A-Za-z0-9_-]{43})/.exec(received.find((m) => m.includes(`To: ${email}`))!)![1]!;

    const linked = await openPage(`#reset_token=${token}`);
    expect(new URL(linked.url()).hash).toBe('');
    const form = linked.locator('form[aria-label="Choose a new password"]');
    await form.locator('input[name="password"]').fill('brand new password');
    await form.getByRole('button', { name: 'Set password' }).click();
    await expect.poll(() => linked.locator('.auth .error').textContent()).toContain('Your password was changed');

    const logIn = linked.locator('form[aria-label="Log in"]');
    await logIn.locator('input[name="login"]').fill(username);
    await logIn.locator('input[name="password"]').fill('brand new password');
    await logIn.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => linked.locator('header .me').textContent()).toContain(`Signed in as ${username}`);
    expect(problems).toEqual([]);
  });
});
