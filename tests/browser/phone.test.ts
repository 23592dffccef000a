import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/database.js';
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
const PHONE = { width: 390, height: 780 };
const MESSAGES = 60;
/** The app loads the newest 30 first. */
const PAGE = 30;
const IMAGE_URL = 'https://cdn.example.com/photos/leak.png';
const PDF = '%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n';
/** The text messages, the image sent as its URL, and the document. */
const TOTAL = MESSAGES + 2;
/** Signed file links last 10 to 20 s here, so a test can outlive one. */
const LINK_SECONDS = 10;

let server: Awaited<ReturnType<typeof startServerProcess>> | null = null;
let browser: Browser | null = null;
let page: Page;
let conversationId: number;
const problems: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH`);
  const databaseUrl = await freshDatabase('phone');
  server = await startServerProcess({ DATABASE_URL: databaseUrl, FILE_LINK_SECONDS: String(LINK_SECONDS) });
  const http = server.http;
  const ann = await http.register('ann');
  const ben = await http.register('ben');
  const created = await http.post('/conversations', { participant_ids: [ben.id] }, ann.token);
  conversationId = created.body.id;
  for (let i = 1; i <= MESSAGES; i++) {
    const sent = await http.post(`/conversations/${conversationId}/messages`, { content: `message number ${i}` }, i % 2 ? ben.token : ann.token);
    expect(sent.status).toBe(201);
  }
  const image = await http.post(`/conversations/${conversationId}/messages`, { type: 'image', content: IMAGE_URL }, ben.token);
  expect(image.status).toBe(201);
  const ticket = await http.post('/uploads', { name: 'lease.pdf', mime_type: 'application/pdf', size: PDF.length }, ben.token);
  expect(ticket.status).toBe(201);
  const put = await http.request(
    ticket.body.method,
    new URL(ticket.body.upload_url, http.baseUrl).pathname + new URL(ticket.body.upload_url, http.baseUrl).search,
    {
      raw: PDF,
      headers: ticket.body.headers,
    },
  );
  expect(put.status).toBe(200);
  const documentMessage = await http.post(
    `/conversations/${conversationId}/messages`,
    { type: 'file', content: '', attachment: { upload_id: ticket.body.upload_id } },
    ben.token,
  );
  expect(documentMessage.status).toBe(201);
  // The first 45 were written three days ago (at noon UTC, so no time zone moves it to today).
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    await db.query(
      `UPDATE messages SET created_at = date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '3 days' + interval '12 hours'
       WHERE conversation_id = $1 AND content ~ '^message number ([1-9]|[1-3][0-9]|4[0-5])$'`,
      [conversationId],
    );
  } finally {
    await db.end();
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  const context = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true, locale: 'en-US', timezoneId: 'UTC', acceptDownloads: true });
  context.setDefaultTimeout(10_000);
  page = await context.newPage();
  // Chromium logs the push key's 404 (no Web Push here).
  const expected = (url: string) => new URL(url || 'about:blank').pathname === '/push/vapid-public-key';
  page.on('console', (m) => void (m.type() === 'error' && !expected(m.location().url) && problems.push(`console: ${m.text()}`)));
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(`http://127.0.0.1:${server.port}/`);
  const logIn = page.locator('form[aria-label="Log in"]');
  await logIn.locator('input[name="login"]').fill('ann');
  await logIn.locator('input[name="password"]').fill('correct horse');
  await logIn.getByRole('button', { name: 'Log in' }).click();
  await page.locator('header .me').waitFor();
});

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await server?.stop().catch(() => undefined);
  killAll();
});

/** The element's box lies inside the viewport: seen without scrolling. */
async function inViewport(selector: string): Promise<void> {
  const box = await page.locator(selector).boundingBox();
  expect(box).not.toBeNull();
  expect(box!.y).toBeGreaterThanOrEqual(0);
  expect(box!.x).toBeGreaterThanOrEqual(0);
  expect(box!.y + box!.height).toBeLessThanOrEqual(PHONE.height);
  expect(box!.x + box!.width).toBeLessThanOrEqual(PHONE.width);
}

const pageScrollHeight = () => page.evaluate<number>('document.scrollingElement.scrollHeight');

/** The computed text and background colour of the first element `selector` finds. */
const colours = (selector: string) =>
  page.evaluate<{ color: string; background: string }>(
    `(() => { const s = getComputedStyle(document.querySelector(${JSON.stringify(selector)})); return { color: s.color, background: s.backgroundColor }; })()`,
  );

describe(`the browser app on a ${PHONE.width}x${PHONE.height} phone screen`, () => {
  it('shows the conversation list alone, with no open conversation beside it', async () => {
    await page.locator(`li.conversation[data-conversation-id="${conversationId}"]`).waitFor();
    expect(await page.locator('aside').isVisible()).toBe(true);
    expect(await page.locator('.pane').isVisible()).toBe(false);
  });

  it(`opening a conversation of ${TOTAL} messages fills the screen: the list is hidden, the composer is inside the viewport and the page does not scroll`, async () => {
    await page.locator(`li.conversation[data-conversation-id="${conversationId}"] button`).click();
    await page.locator('.conversation-view li.message', { hasText: `message number ${MESSAGES}` }).waitFor();
    expect(await page.locator('.conversation-view li.message').count()).toBe(PAGE);
    expect(await page.locator('aside').isVisible()).toBe(false);
    await inViewport('form.composer input[name="content"]');
    await inViewport('form.composer button[type="submit"]');
    await inViewport('.conversation-view .back');
    expect(await pageScrollHeight()).toBeLessThanOrEqual(PHONE.height);
  });

  it('the newest message is in view, and a message sent from the phone appears above the composer', async () => {
    await inViewport('.conversation-view li.message[data-message-id]:last-child');
    await page.locator('form.composer input[name="content"]').fill('sent from the phone');
    await page.locator('form.composer').getByRole('button', { name: 'Send' }).click();
    const sent = page.locator('.conversation-view ol.messages:not(.pending-list) li.message', { hasText: 'sent from the phone' });
    await sent.waitFor();
    await inViewport('.conversation-view ol.messages:not(.pending-list) li.message:last-child');
    await inViewport('form.composer input[name="content"]');
  });

  it('messages are grouped under day separators: the day of the first 45 (by its date), then “Today”, also after loading older ones', async () => {
    const days = page.locator('.conversation-view li.day');
    expect(await days.count()).toBe(2);
    const threeDaysAgo = new Date(Date.now() - 3 * 86_400_000).toLocaleDateString('en-US', { timeZone: 'UTC', weekday: 'long', day: 'numeric', month: 'long' });
    expect(await days.nth(0).textContent()).toBe(threeDaysAgo);
    expect(await days.nth(1).textContent()).toBe('Today');
    // Each separator stands right before the first message of its day.
    const after = (n: number) => days.nth(n).evaluate((e) => e.nextElementSibling?.textContent ?? '');
    expect(await after(0)).toContain(`message number ${TOTAL - PAGE + 1}`);
    expect(await after(1)).toContain('message number 46');
    await page.locator('.conversation-view .older').click();
    await page.locator('.conversation-view li.message', { hasText: 'message number 2' }).first().waitFor();
    expect(await days.count()).toBe(2);
    expect(await after(0)).toContain(`message number ${TOTAL - 2 * PAGE + 1}`);
    expect(await after(1)).toContain('message number 46');
  });

  it('an image sent the original way (its URL as content) shows once, as a link naming the file, not as text too', async () => {
    const message = page.locator('.conversation-view li.message', { has: page.locator('a.attachment.image') });
    expect(await message.count()).toBe(1);
    const link = message.locator('a.attachment.image');
    expect(await link.getAttribute('href')).toBe(IMAGE_URL);
    expect(await link.innerText()).toContain('leak.png');
    expect(await message.locator('.content').isVisible()).toBe(false);
    expect(await message.innerText()).not.toContain(IMAGE_URL);
  });

  it('a refused send shows its reason styled as an error (red on a light red box), as an alert above the composer', async () => {
    await page.locator('form.composer input[name="content"]').fill('x'.repeat(10_001));
    await page.locator('form.composer').getByRole('button', { name: 'Send' }).click();
    const error = page.locator('.conversation-view .status.error[role="alert"]');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/^Not sent: /);
    expect(await colours('.conversation-view .status.error')).toEqual({ color: 'rgb(180, 35, 24)', background: 'rgb(254, 243, 242)' });
    await inViewport('.conversation-view .status.error');
    await inViewport('form.composer input[name="content"]');
  });

  it('a document’s download link used after it expired is renewed first: the browser saves the same bytes', async () => {
    const link = page.locator('.conversation-view li.message a.attachment.file');
    const href = new URL((await link.getAttribute('href'))!, page.url());
    expect(await link.getAttribute('download')).toBe('lease.pdf');
    const expiresAt = Number(href.searchParams.get('e')) * 1000;
    // Past its expiry (and the few seconds of margin the app keeps), by the page's clock and the server's, the same here.
    await expect.poll(() => Date.now(), { timeout: 2 * LINK_SECONDS * 1000 + 5000, interval: 250 }).toBeGreaterThan(expiresAt);
    expect((await fetch(href)).status).toBe(403);
    const saved = page.waitForEvent('download');
    await link.click();
    const download = await saved;
    expect(await download.failure()).toBeNull();
    expect(await readFile(await download.path())).toEqual(Buffer.from(PDF));
    expect(download.suggestedFilename()).toBe('lease.pdf');
  });

  it('the back button returns to the list, which again fills the screen', async () => {
    await page.locator('.conversation-view .back').click();
    await page.locator('.conversation-view').waitFor({ state: 'detached' });
    expect(await page.locator('aside').isVisible()).toBe(true);
    expect(await page.locator('.pane').isVisible()).toBe(false);
    expect(new URL(page.url()).pathname).toBe('/');
  });

  it('logs no console error or uncaught exception', () => {
    expect(problems).toEqual([]);
  });
});
