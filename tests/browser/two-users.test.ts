import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, startServerProcess } from '../support/server-process.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let server: Awaited<ReturnType<typeof startServerProcess>> | null = null;
let profile: string | null = null;
let browser: BrowserContext | null = null;
let ann: Page;
let ben: Page;
let benId: number;
let conversationId: number;
/**
 * Lets a test cut a page's connection and keep it from reconnecting: while
 * `offline`, constructing a WebSocket throws (as a browser does for a bad
 * URL), so the app's client backs off and retries without any network error.
 */
const CONNECTION_SWITCH = `(() => {
  const Native = window.WebSocket;
  const control = { sockets: [], offline: false };
  window.__connection = control;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      if (control.offline) throw new DOMException('offline (test)', 'SyntaxError');
      super(url, protocols);
      control.sockets.push(this);
    }
  };
})();`;

/** Console errors and uncaught exceptions of both pages (a CSP violation shows up here too). */
const problems: string[] = [];

async function openPage(reuse?: Page): Promise<Page> {
  const page = reuse ?? (await browser!.newPage());
  page.on('console', (m) => void (m.type() === 'error' && problems.push(`console: ${m.text()}`)));
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(`http://127.0.0.1:${server!.port}/`);
  return page;
}

/** Registers through the form and returns the id the signed-in header shows. */
async function register(page: Page, username: string): Promise<number> {
  await page.bringToFront();
  const form = page.locator('form[aria-label="Register"]');
  await form.locator('input[name="email"]').fill(`${username}@example.com`);
  await form.locator('input[name="username"]').fill(username);
  await form.locator('input[name="password"]').fill('correct horse battery');
  await form.getByRole('button', { name: 'Register' }).click();
  const me = page.locator('header .me');
  await me.waitFor();
  expect(await me.textContent()).toContain(`Signed in as ${username}`);
  return Number(await me.getAttribute('data-user-id'));
}

async function send(page: Page, text: string): Promise<void> {
  await page.bringToFront();
  await page.locator('form.composer input[name="content"]').fill(text);
  await page.locator('form.composer').getByRole('button', { name: 'Send' }).click();
}

/** A stored message (not the pending copy) with this text in the open conversation. */
const stored = (page: Page, text: string) => page.locator('.conversation-view ol.messages:not(.pending-list) li.message', { hasText: text });

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH`);
  server = await startServerProcess();
  profile = mkdtempSync(path.join(os.tmpdir(), 'chat-browser-'));
  // Each page keeps its session in sessionStorage, so two tabs of one profile are two users.
  // A test brings a tab to the front before acting in it, as a person would: clicks in a
  // background tab wait on animation frames that hardly come.
  browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS });
  browser.setDefaultTimeout(10_000);
  await browser.addInitScript({ content: CONNECTION_SWITCH });
  ann = await openPage(browser.pages()[0]);
  ben = await openPage();
});

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await server?.stop().catch(() => undefined);
  killAll();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe('two users in two pages of a headless Chromium', () => {
  it('both register through the form and see their own id in the header', async () => {
    const annId = await register(ann, 'ann');
    benId = await register(ben, 'ben');
    expect(annId).toBeGreaterThan(0);
    expect(benId).toBeGreaterThan(0);
    expect(benId).not.toBe(annId);
  });

  it('ann starts a conversation with ben by his id; her message shows as stored, with no pending copy left', async () => {
    await ann.bringToFront();
    await ann.locator('form.start input[name="participants"]').fill(String(benId));
    await ann.locator('form.start').getByRole('button', { name: 'Start' }).click();
    const view = ann.locator('.conversation-view');
    await view.waitFor();
    expect(await view.locator('h2').textContent()).toBe('ben');
    conversationId = Number(await view.getAttribute('data-conversation-id'));
    await send(ann, 'hello ben');
    await stored(ann, 'hello ben').waitFor();
    expect(await stored(ann, 'hello ben').locator('.receipt').textContent()).toBe('Sent');
    expect(await ann.locator('li.message.pending').count()).toBe(0);
  });

  it('ben sees the new conversation in his list with 1 unread and the message as its preview', async () => {
    const item = ben.locator(`li.conversation[data-conversation-id="${conversationId}"]`);
    await item.locator('.unread').waitFor();
    expect(await item.locator('.unread').textContent()).toBe('1');
    expect(await item.locator('.preview').textContent()).toBe('ann: hello ben');
  });

  it('ben opens it and sees the message; the unread count clears and ann sees her message marked Read', async () => {
    const item = ben.locator(`li.conversation[data-conversation-id="${conversationId}"]`);
    await ben.bringToFront();
    await item.getByRole('button').click();
    await stored(ben, 'hello ben').waitFor();
    await item.locator('.unread').waitFor({ state: 'detached' });
    const annMessage = ann.locator('li.message.own.read', { hasText: 'hello ben' });
    await annMessage.waitFor();
    expect(await annMessage.locator('.receipt').textContent()).toBe('Read');
  });

  it('ben replies and the reply appears in ann’s open conversation as his', async () => {
    await send(ben, 'hi ann, got it');
    const reply = stored(ann, 'hi ann, got it');
    await reply.waitFor();
    expect(await reply.locator('.sender').textContent()).toBe('ben');
    expect(await reply.getAttribute('class')).toBe('message');
  });

  it('after ben’s connection drops, a message ann sends meanwhile reaches him once when he is back online', async () => {
    await ben.evaluate(`window.__connection.offline = true; window.__connection.sockets.at(-1).close(4000, 'test drop')`);
    await ben.locator('.connection[data-state="reconnecting"]').waitFor();
    await send(ann, 'sent while you were away');
    await stored(ann, 'sent while you were away').waitFor();
    await ben.evaluate(`window.__connection.offline = false`);
    await stored(ben, 'sent while you were away').waitFor();
    await ben.locator('.connection[data-state="open"]').waitFor();
    await send(ann, 'and one more after');
    await stored(ben, 'and one more after').waitFor();
    expect(await stored(ben, 'sent while you were away').count()).toBe(1);
  });

  it('logs no console error or uncaught exception in either page', () => {
    expect(problems).toEqual([]);
  });
});
