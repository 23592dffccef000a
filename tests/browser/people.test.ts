import { existsSync } from 'node:fs';
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
const PASSWORD = 'correct horse battery';

let server: Awaited<ReturnType<typeof startServerProcess>> | null = null;
let browser: Browser | null = null;
let ann: Page;
let staff: Page;
let ben: { id: number; token: string };
let conversationId: number;
let reportedId: number;
const problems: string[] = [];

async function registerUser(username: string, role: 'landlord' | 'tenant') {
  const res = await server!.http.post('/auth/register', { email: `${username}@example.com`, username, password: PASSWORD, role });
  expect(res.status).toBe(201);
  return { id: res.body.user.id as number, token: res.body.token as string };
}

async function logInPage(username: string): Promise<Page> {
  const context = await browser!.newContext();
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  // Chromium logs the push key's 404 (no Web Push here).
  page.on(
    'console',
    (m) =>
      void (m.type() === 'error' && new URL(m.location().url || 'about:blank').pathname !== '/push/vapid-public-key' && problems.push(`console: ${m.text()}`)),
  );
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(`http://127.0.0.1:${server!.port}/`);
  const form = page.locator('form[aria-label="Log in"]');
  await form.locator('input[name="login"]').fill(username);
  await form.locator('input[name="password"]').fill(PASSWORD);
  await form.getByRole('button', { name: 'Log in' }).click();
  await page.locator('.connection[data-state="open"]').waitFor();
  return page;
}

const benSends = (content: string) => server!.http.post(`/conversations/${conversationId}/messages`, { content }, ben.token);

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH`);
  const databaseUrl = await freshDatabase('people');
  server = await startServerProcess({ DATABASE_URL: databaseUrl, DIRECTORY: 'all' });
  const annUser = await registerUser('ann', 'tenant');
  ben = await registerUser('ben', 'landlord');
  const sam = await registerUser('sam', 'tenant');
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  await db.query('UPDATE users SET is_staff = true WHERE id = $1', [sam.id]).finally(() => db.end());
  conversationId = (await server.http.post('/conversations', { participant_ids: [ben.id] }, annUser.token)).body.id;
  reportedId = (await benSends('pay the rent in cash to my cousin')).body.id;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  ann = await logInPage('ann');
  staff = await logInPage('sam');
});

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await server?.stop().catch(() => undefined);
  killAll();
});

async function menu(item: string): Promise<void> {
  await ann.bringToFront();
  await ann.locator('.conversation-view .menu-button').click();
  await ann.locator('.conversation-view .menu').getByRole('menuitem', { name: item }).click();
}

describe('people and safety in the browser app', () => {
  it('the open conversation shows the other participant’s role beside his name, and on his messages', async () => {
    await ann.bringToFront();
    await ann.locator(`li.conversation[data-conversation-id="${conversationId}"] button`).click();
    const participant = ann.locator(`.conversation-view li.participant[data-user-id="${ben.id}"]`);
    await participant.waitFor();
    expect(await participant.locator('.role').textContent()).toBe('Landlord');
    const message = ann.locator(`.conversation-view li.message[data-message-id="${reportedId}"]`);
    expect(await message.locator('.sender').textContent()).toBe('ben');
    expect(await message.locator('.role').textContent()).toBe('Landlord');
  });

  it('the conversation’s menu opens ben’s profile: username, role and presence', async () => {
    await menu('Profile');
    const dialog = ann.locator(`dialog.profile[data-user-id="${ben.id}"]`);
    await dialog.waitFor();
    expect(await dialog.locator('.username').textContent()).toBe('@ben');
    expect(await dialog.locator('.role').textContent()).toBe('Landlord');
    expect(await dialog.locator('.seen').textContent()).toMatch(/^(Offline|Last seen )/);
    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'hidden' });
  });

  it('ann blocks ben from the menu: his send is refused with USER_BLOCKED, and the menu then offers to unblock him', async () => {
    await menu('Block ben');
    await ann.locator('.conversation-view .status', { hasText: 'You blocked ben' }).waitFor();
    const refused = await benSends('are you there?');
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('USER_BLOCKED');
    await menu('Unblock ben');
    await ann.locator('.conversation-view .status', { hasText: 'You unblocked ben' }).waitFor();
    expect((await benSends('back again')).status).toBe(201);
    await ann.locator('.conversation-view li.message', { hasText: 'back again' }).waitFor();
  });

  it('ann reports ben’s message with a reason; a second report of it is refused and shown as an error', async () => {
    const message = ann.locator(`.conversation-view li.message[data-message-id="${reportedId}"]`);
    const report = async () => {
      await message.getByRole('button', { name: 'Report' }).click();
      await message.locator('.report-form input[name="reason"]').fill('asks for cash to a relative');
      await message.locator('.report-form').getByRole('button', { name: 'Report' }).click();
    };
    await report();
    await ann.locator('.conversation-view .status:not(.error)', { hasText: 'Reported' }).waitFor();
    await report();
    await ann.locator('.conversation-view .status.error', { hasText: 'Not reported' }).waitFor();
  });

  it('only staff have the Reports button: sam sees the report with its reason and the message in context, and dismisses it', async () => {
    expect(await ann.locator('header .reports-button').count()).toBe(0);
    await staff.bringToFront();
    await staff.locator('header .reports-button').click();
    const report = staff.locator(`.report-queue li.report[data-message-id="${reportedId}"]`);
    await report.waitFor();
    expect(await report.locator('.reason').textContent()).toBe('asks for cash to a relative');
    expect(await report.locator('.context li.reported .text').textContent()).toBe('pay the rent in cash to my cousin');
    expect(await report.locator('.reported-by').textContent()).toContain('ann');
    await report.getByRole('button', { name: 'Dismiss' }).click();
    await staff.locator(`.report-queue li.report.resolved[data-message-id="${reportedId}"]`).waitFor();
    const queue = await server!.http.get(
      '/admin/reports?status=dismissed',
      (await server!.http.post('/auth/login', { username: 'sam', password: PASSWORD })).body.token,
    );
    expect(queue.body.reports.map((r: { message_id: number }) => r.message_id)).toEqual([reportedId]);
  });

  it('logs no console error or uncaught exception beyond the refused second report', () => {
    expect(problems.filter((p) => !/409/.test(p))).toEqual([]);
  });
});
