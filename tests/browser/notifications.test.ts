import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type CDPSession, type ConsoleMessage, type Page, type Worker } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, startServerProcess } from '../support/server-process.js';

/*
 * The Web Push routes are served by the server's push module; here the page's
 * requests to them are answered inside the browser (Playwright routing), so
 * these tests pin what the app sends and how it reacts to each answer.
 *
 * Chromium cannot subscribe without its network push service (in a browser
 * context like these, `pushManager.subscribe` fails at once: "Push API in
 * incognito"; in a persistent profile it waits on the unreachable service),
 * so `PushManager.prototype.subscribe`/`getSubscription` are replaced in the
 * page by a stand-in that keeps a subscription-shaped object in localStorage.
 * The service worker, its registration, the push event and the notifications
 * are Chromium's own: pushes are delivered with the DevTools Protocol.
 */

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

/** A real P-256 public key, base64url of the uncompressed point, as the key route answers it. */
function vapidPublicKey(): string {
  const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
  return Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]).toString('base64url');
}
const KEY = vapidPublicKey();

/** Stands in for the browser's push service: a subscription-shaped object, kept across reloads. */
const PUSH_SERVICE_STAND_IN = `(() => {
  if (!('PushManager' in window)) return;
  const STORE = 'test.push-subscription';
  const make = (kept) => ({
    endpoint: kept.endpoint,
    expirationTime: null,
    options: { userVisibleOnly: kept.userVisibleOnly, applicationServerKey: new Uint8Array(kept.key).buffer },
    toJSON: () => ({ endpoint: kept.endpoint, expirationTime: null, keys: kept.keys }),
    unsubscribe: async () => { localStorage.removeItem(STORE); return true; },
  });
  PushManager.prototype.subscribe = async function (options) {
    const key = options.applicationServerKey;
    const bytes = Array.from(key instanceof ArrayBuffer ? new Uint8Array(key) : new Uint8Array(key.buffer, key.byteOffset, key.byteLength));
    const kept = {
      endpoint: 'https://push.example.test/send/' + crypto.randomUUID(),
      userVisibleOnly: options.userVisibleOnly === true,
      key: bytes,
      keys: { p256dh: 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM', auth: 'tBHItJI5svbpez7KI4CCXg' },
    };
    localStorage.setItem(STORE, JSON.stringify(kept));
    return make(kept);
  };
  PushManager.prototype.getSubscription = async function () {
    const raw = localStorage.getItem(STORE);
    return raw ? make(JSON.parse(raw)) : null;
  };
})();`;

interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  readonly body: unknown;
}

let server: Awaited<ReturnType<typeof startServerProcess>> | null = null;
let browser: Browser | null = null;
let origin: string;
const problems: string[] = [];

/**
 * A page in a context of its own whose push routes answer as `keyStatus` says
 * (200 with KEY, or 404 as a server without Web Push does); every request to
 * them is recorded.
 */
async function openApp(keyStatus: 200 | 404, initScripts: string[] = []): Promise<{ context: BrowserContext; page: Page; requests: Recorded[] }> {
  const context = await browser!.newContext();
  context.setDefaultTimeout(10_000);
  await context.grantPermissions(['notifications'], { origin });
  for (const content of initScripts) await context.addInitScript({ content });
  const requests: Recorded[] = [];
  await context.route(/\/push\//, async (route) => {
    const request = route.request();
    const path = new URL(request.url()).pathname;
    requests.push({
      method: request.method(),
      path,
      authorization: (await request.headerValue('authorization')) ?? undefined,
      body: request.postDataJSON() as unknown,
    });
    if (path === '/push/vapid-public-key' && keyStatus === 200) return route.fulfill({ status: 200, json: { public_key: KEY } });
    if (keyStatus === 404) return route.fulfill({ status: 404, json: { error: { code: 'NOT_FOUND', message: 'Not found' } } });
    if (path === '/push/subscriptions' && request.method() === 'POST') return route.fulfill({ status: 201, json: {} });
    if (path === '/push/subscriptions' && request.method() === 'DELETE') return route.fulfill({ status: 204 });
    return route.fulfill({ status: 404, json: { error: { code: 'NOT_FOUND', message: 'Not found' } } });
  });
  const page = await context.newPage();
  // The 404 of a server without Web Push is logged by Chromium itself; it is expected where the test asks for it.
  const expected404 = (m: ConsoleMessage) => keyStatus === 404 && new URL(m.location().url || 'about:blank').pathname === '/push/vapid-public-key';
  page.on('console', (m) => void (m.type() === 'error' && !expected404(m) && problems.push(`console: ${m.text()}`)));
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(`${origin}/`);
  return { context, page, requests };
}

async function register(page: Page, username: string): Promise<{ id: number; token: string }> {
  const form = page.locator('form[aria-label="Register"]');
  await form.locator('input[name="email"]').fill(`${username}@example.com`);
  await form.locator('input[name="username"]').fill(username);
  await form.locator('input[name="password"]').fill('correct horse battery');
  await form.getByRole('button', { name: 'Register' }).click();
  await page.locator('header .me').waitFor();
  const session = JSON.parse((await page.evaluate<string | null>(`localStorage.getItem('chat.session')`))!) as { token: string; user: { id: number } };
  return { id: session.user.id, token: session.token };
}

const switchIn = (page: Page) => page.locator('header button.notifications');

/** The registration ids of the context's service workers, as the DevTools Protocol reports them. */
async function registrations(page: Page): Promise<{ cdp: CDPSession; registrationId: () => Promise<string> }> {
  const cdp = await page.context().newCDPSession(page);
  const live = new Map<string, string>();
  let changed = () => undefined as void;
  cdp.on('ServiceWorker.workerRegistrationUpdated', (event) => {
    for (const r of event.registrations) {
      if (r.isDeleted) live.delete(r.scopeURL);
      else live.set(r.scopeURL, r.registrationId);
    }
    changed();
  });
  await cdp.send('ServiceWorker.enable');
  const registrationId = async () => {
    while (!live.has(`${origin}/`)) await new Promise<void>((resolve) => (changed = resolve));
    return live.get(`${origin}/`)!;
  };
  return { cdp, registrationId };
}

/** The notifications the app's service worker shows now, as plain data. */
const shown = (page: Page) =>
  page.evaluate(`(async () => {
    const registration = await navigator.serviceWorker.getRegistration('/');
    return (await registration.getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data }));
  })()`) as Promise<Array<{ title: string; body: string; tag: string; data: unknown }>>;

/**
 * Waits until the notifications with this tag have exactly these bodies (none: all closed). Polled:
 * `page.waitForFunction` takes a returned promise as truthy, and getNotifications is async.
 */
const waitForNotifications = (page: Page, tag: string, bodies: string[]) =>
  expect.poll(async () => (await shown(page)).filter((n) => n.tag === tag).map((n) => n.body), { timeout: 10_000 }).toEqual(bodies);

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH`);
  server = await startServerProcess();
  origin = `http://127.0.0.1:${server.port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
});

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await server?.stop().catch(() => undefined);
  killAll();
});

describe('the Notifications switch when push is not on offer', () => {
  it('stays hidden when /push/vapid-public-key answers 404 (a server without Web Push)', async () => {
    const { context, page, requests } = await openApp(404);
    try {
      await register(page, 'nokey');
      await page.locator('header button.notifications[data-state="unavailable"]').waitFor({ state: 'attached' });
      expect(await switchIn(page).isHidden()).toBe(true);
      expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /push/vapid-public-key']);
    } finally {
      await context.close();
    }
  });

  it('is shown disabled as "not supported" in a browser without the Push API, and asks the server nothing', async () => {
    const { context, page, requests } = await openApp(200, ['delete window.PushManager;']);
    try {
      await register(page, 'nopush');
      const button = page.locator('header button.notifications[data-state="unsupported"]');
      await button.waitFor();
      expect(await button.isDisabled()).toBe(true);
      expect(await button.textContent()).toBe('Notifications: not supported by this browser');
      expect(requests).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

describe('Web Push notifications in a headless Chromium', () => {
  let context: BrowserContext;
  let page: Page;
  let requests: Recorded[];
  let me: { id: number; token: string };
  let conversationId: number;
  let cdp: CDPSession;
  let registrationId: () => Promise<string>;
  let worker: Worker;

  beforeAll(async () => {
    ({ context, page, requests } = await openApp(200, [PUSH_SERVICE_STAND_IN]));
    ({ cdp, registrationId } = await registrations(page));
    me = await register(page, 'ann');
    const other = await fetch(`${origin}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'ben@example.com', username: 'ben', password: 'correct horse battery', role: 'tenant' }),
    });
    expect(other.status).toBe(201);
    const ben = (await other.json()) as { user: { id: number } };
    const created = await fetch(`${origin}/conversations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${me.token}` },
      body: JSON.stringify({ participant_ids: [ben.user.id] }),
    });
    conversationId = ((await created.json()) as { id: number }).id;
  });

  afterAll(async () => {
    await context?.close().catch(() => undefined);
  });

  it('the switch starts off; turning it on registers /sw.js for the whole origin, subscribes with the server’s key and POSTs the subscription', async () => {
    await page.locator('header button.notifications[data-state="off"]').waitFor();
    await switchIn(page).click();
    await page.locator('header button.notifications[data-state="on"]').waitFor();
    expect(await switchIn(page).textContent()).toBe('Notifications: on');

    const registration = (await page.evaluate(`(async () => {
      const r = await navigator.serviceWorker.getRegistration('/');
      const s = await r.pushManager.getSubscription();
      return { scope: r.scope, script: r.active && r.active.scriptURL, subscription: s.toJSON(), userVisibleOnly: s.options.userVisibleOnly,
        key: btoa(String.fromCharCode(...new Uint8Array(s.options.applicationServerKey))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '') };
    })()`)) as { scope: string; script: string; subscription: { endpoint: string }; userVisibleOnly: boolean; key: string };
    expect(registration).toMatchObject({ scope: `${origin}/`, script: `${origin}/sw.js`, userVisibleOnly: true, key: KEY });

    const posts = requests.filter((r) => r.method === 'POST');
    expect(posts).toEqual([{ method: 'POST', path: '/push/subscriptions', authorization: `Bearer ${me.token}`, body: registration.subscription }]);
    expect(registration.subscription.endpoint).toMatch(/^https:\/\/push\.example\.test\//);
  });

  it('a push shows a notification titled with the sender, the text as body, tagged by conversation, with the conversation id as data', async () => {
    const id = await registrationId();
    const payload = { conversation_id: conversationId, message_id: 41, count: 1, sender: 'ben', content: 'hello ann' };
    await cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId: id, data: JSON.stringify(payload) });
    await waitForNotifications(page, `conversation-${conversationId}`, ['hello ann']);
    expect(await shown(page)).toEqual([
      { title: 'ben', body: 'hello ann', tag: `conversation-${conversationId}`, data: { type: 'open-conversation', conversation_id: conversationId } },
    ]);
  });

  it('a newer push for the same conversation, without text, replaces it with "N new messages"; another conversation gets its own', async () => {
    const id = await registrationId();
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin,
      registrationId: id,
      data: JSON.stringify({ conversation_id: conversationId, message_id: 43, count: 3, sender: 'ben' }),
    });
    await waitForNotifications(page, `conversation-${conversationId}`, ['3 new messages']);
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin,
      registrationId: id,
      data: JSON.stringify({ conversation_id: 999_999, message_id: 44, count: 1, sender: '' }),
    });
    await waitForNotifications(page, 'conversation-999999', ['1 new message']);
    const now = await shown(page);
    expect(now.filter((n) => n.tag === `conversation-${conversationId}`)).toEqual([
      { title: 'ben', body: '3 new messages', tag: `conversation-${conversationId}`, data: { type: 'open-conversation', conversation_id: conversationId } },
    ]);
    expect(now.find((n) => n.tag === 'conversation-999999')?.title).toBe('New message');
    expect(now).toHaveLength(2);
  });

  it('a click on the notification makes the open window show its conversation, and closes the notification', async () => {
    expect(await page.locator('.conversation-view').count()).toBe(0);
    worker = context.serviceWorkers().find((w) => w.url() === `${origin}/sw.js`)!;
    expect(worker).toBeDefined();
    // No DevTools command clicks a notification: the event is dispatched in the worker. Without a
    // real click the browser refuses `focus()` (no user activation), which this cannot prove.
    await worker.evaluate(`(async () => {
      const [n] = await self.registration.getNotifications({ tag: 'conversation-${conversationId}' });
      self.dispatchEvent(new NotificationEvent('notificationclick', { notification: n }));
    })()`);
    await page.locator(`.conversation-view[data-conversation-id="${conversationId}"]`).waitFor();
    expect(new URL(page.url()).hash).toBe(`#conversation=${conversationId}`);
    await waitForNotifications(page, `conversation-${conversationId}`, []);
  });

  it('no notification is shown for the conversation a focused, visible window of the app shows', async () => {
    await page.bringToFront();
    expect(await page.evaluate(`document.hasFocus() && document.visibilityState === 'visible'`)).toBe(true);
    const id = await registrationId();
    const push = (conversation_id: number, count: number) =>
      cdp.send('ServiceWorker.deliverPushMessage', {
        origin,
        registrationId: id,
        data: JSON.stringify({ conversation_id, message_id: 50 + count, count, sender: 'ben' }),
      });
    await push(conversationId, 4);
    // Pushes are handled in the order they come: once the next one is shown, the first was handled.
    await push(999_999, 2);
    await waitForNotifications(page, 'conversation-999999', ['2 new messages']);
    expect((await shown(page)).map((n) => n.tag)).toEqual(['conversation-999999']);
  });

  it('a push that is not the expected JSON still shows a plain "New message" and breaks nothing', async () => {
    const id = await registrationId();
    await cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId: id, data: 'not json {' });
    await waitForNotifications(page, 'chat', ['']);
    expect((await shown(page)).find((n) => n.tag === 'chat')).toEqual({ title: 'New message', body: '', tag: 'chat', data: null });
    await cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId: id, data: JSON.stringify({ conversation_id: -1, sender: 7 }) });
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin,
      registrationId: id,
      data: JSON.stringify({ conversation_id: 999_999, message_id: 60, count: 5, sender: 'cy' }),
    });
    await waitForNotifications(page, 'conversation-999999', ['5 new messages']);
    expect((await shown(page)).filter((n) => n.tag === 'chat')).toHaveLength(1);
  });

  it('logging out DELETEs the subscription on the server; logging in again POSTs the one the browser kept', async () => {
    const endpoint = (requests.find((r) => r.method === 'POST')!.body as { endpoint: string }).endpoint;
    const before = requests.length;
    await page.locator('header').getByRole('button', { name: 'Log out' }).click();
    await page.locator('form[aria-label="Log in"]').waitFor();
    expect(requests.slice(before)).toEqual([{ method: 'DELETE', path: '/push/subscriptions', authorization: `Bearer ${me.token}`, body: { endpoint } }]);

    const form = page.locator('form[aria-label="Log in"]');
    await form.locator('input[name="login"]').fill('ann');
    await form.locator('input[name="password"]').fill('correct horse battery');
    await form.getByRole('button', { name: 'Log in' }).click();
    await page.locator('header button.notifications[data-state="on"]').waitFor();
    const again = requests.slice(before + 1);
    expect(again.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /push/vapid-public-key', 'POST /push/subscriptions']);
    expect((again[1]!.body as { endpoint: string }).endpoint).toBe(endpoint);
  });

  it('turning the switch off DELETEs the subscription and unsubscribes the browser', async () => {
    const endpoint = (requests.find((r) => r.method === 'POST')!.body as { endpoint: string }).endpoint;
    const before = requests.length;
    await switchIn(page).click();
    await page.locator('header button.notifications[data-state="off"]').waitFor();
    expect(requests.slice(before).map((r) => [r.method, r.path, r.body])).toEqual([['DELETE', '/push/subscriptions', { endpoint }]]);
    expect(await page.evaluate(`navigator.serviceWorker.getRegistration('/').then((r) => r.pushManager.getSubscription())`)).toBeNull();
  });

  it('logs no console error or uncaught exception in any page (but the 404 asked for above)', () => {
    expect(problems).toEqual([]);
  });
});
