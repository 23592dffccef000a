import { existsSync } from 'node:fs';
import sharp from 'sharp';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
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
let browser: Browser | null = null;
let ann: Page;
let ben: Page;
let annId: number;
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

/** A page in a browser context of its own: the app keeps its session in localStorage, which an origin's tabs share. */
async function openPage(): Promise<Page> {
  const context: BrowserContext = await browser!.newContext();
  context.setDefaultTimeout(10_000);
  await context.addInitScript({ content: CONNECTION_SWITCH });
  const page = await context.newPage();
  // A server without Web Push answers its key route with 404, which Chromium logs; the app then hides the switch.
  const noPush = (m: ConsoleMessage) => new URL(m.location().url || 'about:blank').pathname === '/push/vapid-public-key';
  page.on('console', (m) => void (m.type() === 'error' && !noPush(m) && problems.push(`console: ${m.text()}`)));
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
  // Everyone can be found, so ann finds ben with no conversation in common.
  server = await startServerProcess({ DIRECTORY: 'all' });
  // A test brings a page to the front before acting in it, as a person would: clicks in a
  // background page wait on animation frames that hardly come.
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  ann = await openPage();
  ben = await openPage();
});

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await server?.stop().catch(() => undefined);
  killAll();
});

describe('two users in two pages of a headless Chromium', () => {
  it('both register through the form and see their own id in the header', async () => {
    annId = await register(ann, 'ann');
    benId = await register(ben, 'ben');
    expect(annId).toBeGreaterThan(0);
    expect(benId).toBeGreaterThan(0);
    expect(benId).not.toBe(annId);
  });

  it('ann’s page, reloaded, is still signed in as ann: the session and its refresh token are kept in localStorage', async () => {
    const kept = JSON.parse((await ann.evaluate<string | null>(`localStorage.getItem('chat.session')`)) ?? 'null') as unknown;
    expect(kept).toMatchObject({ user: { id: annId }, refresh_token: expect.any(String) });
    await ann.reload();
    await ann.locator('.connection[data-state="open"]').waitFor();
    expect(await ann.locator('header .me').getAttribute('data-user-id')).toBe(String(annId));
  });

  it('ann finds ben by the start of his username and starts a conversation with him; her message shows as stored, with no pending copy left', async () => {
    await ann.bringToFront();
    await ann.locator('form.start input[name="query"]').fill('be');
    const found = ann.locator(`form.start li.person[data-user-id="${benId}"]`);
    await found.waitFor();
    expect(await found.locator('.username').textContent()).toBe('@ben');
    expect(await found.locator('.role').textContent()).toBe('Tenant');
    await found.getByRole('button').click();
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

  it('ben sees ann online: a green dot beside her name in his list and in the open conversation', async () => {
    const item = ben.locator(`li.conversation[data-conversation-id="${conversationId}"]`);
    await item.locator('.presence[data-online="true"]').waitFor();
    await ben.locator(`.conversation-view li.participant[data-user-id="${annId}"][data-online="true"]`).waitFor();
    expect(await ben.locator(`.conversation-view li.participant[data-user-id="${annId}"] .name`).textContent()).toBe('ann');
  });

  it('ben sees “ann is typing…” while she types, and it is gone once her message has arrived', async () => {
    const typing = ben.locator('.conversation-view .typing');
    expect(await typing.isHidden()).toBe(true);
    await ann.bringToFront();
    await ann.locator('form.composer input[name="content"]').pressSequentially('are you th');
    await typing.waitFor({ state: 'visible' });
    expect(await typing.textContent()).toBe('ann is typing…');
    await ann.locator('form.composer input[name="content"]').pressSequentially('ere?');
    await ann.locator('form.composer').getByRole('button', { name: 'Send' }).click();
    await stored(ben, 'are you there?').waitFor();
    await typing.waitFor({ state: 'hidden' });
    expect(await typing.textContent()).toBe('');
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

  it('ann attaches a photo with the button; ben sees its thumbnail, loaded from the server’s file link, and no pending copy stays with ann', async () => {
    const photo = await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 200, g: 80, b: 40 } } })
      .png()
      .toBuffer();
    await ann.bringToFront();
    await ann.locator('form.composer input[type="file"]').setInputFiles({ name: 'leak.png', mimeType: 'image/png', buffer: photo });
    const thumbnail = ben.locator('.conversation-view ol.messages:not(.pending-list) li.message img.thumbnail');
    await thumbnail.waitFor();
    const src = new URL((await thumbnail.getAttribute('src'))!, ben.url());
    expect(src.origin).toBe(`http://127.0.0.1:${server!.port}`);
    expect(src.pathname).toMatch(/^\/files\/[^/]+$/);
    await ben.bringToFront();
    // Loaded, not merely present: a refused or broken image has naturalWidth 0.
    const naturalWidth = `(() => { const img = document.querySelector('.conversation-view ol.messages:not(.pending-list) li.message img.thumbnail'); return img && img.complete ? img.naturalWidth : 0; })()`;
    await expect.poll(() => ben.evaluate<number>(naturalWidth)).toBeGreaterThan(0);
    // The link is the server's thumbnail: a WebP at most 320 px wide, not the 640 px original.
    const served = await fetch(src);
    expect(served.headers.get('content-type')).toBe('image/webp');
    expect((await sharp(Buffer.from(await served.arrayBuffer())).metadata()).width).toBeLessThanOrEqual(320);
    await ann.locator('.conversation-view ol.messages:not(.pending-list) li.message img.thumbnail').waitFor();
    // The list's preview says what was sent rather than showing an empty line.
    expect(await ben.locator(`li.conversation[data-conversation-id="${conversationId}"] .preview`).textContent()).toBe('ann: 📷 Photo');
    expect(await ann.locator('li.message.pending').count()).toBe(0);
  });

  it('ben drops a PDF on the conversation; ann gets a download link naming it with its size, which serves the same bytes', async () => {
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
    await ben.bringToFront();
    const dropped = await ben.evaluateHandle(
      `(() => { const dt = new DataTransfer(); dt.items.add(new File([new Uint8Array(${JSON.stringify([...pdf])})], 'lease.pdf', { type: 'application/pdf' })); return dt; })()`,
    );
    await ben.dispatchEvent('.conversation-view', 'dragover', { dataTransfer: dropped });
    await ben.dispatchEvent('.conversation-view', 'drop', { dataTransfer: dropped });
    const link = ann.locator('.conversation-view ol.messages:not(.pending-list) li.message a.attachment.file');
    await link.waitFor();
    expect(await link.innerText()).toMatch(/lease\.pdf\s*\d+ B/);
    expect(await link.getAttribute('download')).toBe('lease.pdf');
    const served = await fetch(new URL((await link.getAttribute('href'))!, `http://127.0.0.1:${server!.port}`));
    expect(served.status).toBe(200);
    expect(Buffer.from(await served.arrayBuffer()).equals(pdf)).toBe(true);
  });

  it('ann logs out: the forms are back, a reload stays signed out, and ben sees her dot go grey', async () => {
    await ann.bringToFront();
    await ann.locator('header').getByRole('button', { name: 'Log out' }).click();
    await ann.locator('form[aria-label="Log in"]').waitFor();
    expect(await ann.evaluate<string | null>(`localStorage.getItem('chat.session')`)).toBeNull();
    await ann.reload();
    await ann.locator('form[aria-label="Log in"]').waitFor();
    expect(await ann.locator('header .me').count()).toBe(0);
    // Offline once the server's grace period (5 s) for a reconnect has passed.
    await ben.locator(`.conversation-view li.participant[data-user-id="${annId}"][data-online="false"]`).waitFor({ timeout: 15_000 });
    await ben.locator(`li.conversation[data-conversation-id="${conversationId}"] .presence[data-online="false"]`).waitFor();
  });

  it('logs no console error or uncaught exception in either page', () => {
    expect(problems).toEqual([]);
  });
});
