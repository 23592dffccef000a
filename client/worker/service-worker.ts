import {
  conversationPath,
  isOpenConversation,
  notificationFor,
  parsePushPayload,
  type OpenConversation,
  type ShowingConversation,
  type WhichConversation,
} from '../app/push-messages.js';

/**
 * The app's service worker, served at `/sw.js` with the whole origin as its
 * scope: it shows a notification for each Web Push the server sends, and a
 * click on one brings the app (back) to that conversation.
 */
declare const self: ServiceWorkerGlobalScope;

// A new version takes over at once: it holds no cache that an open page could depend on.
self.addEventListener('install', () => void self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => event.waitUntil(onPush(event.data)));
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const data: unknown = event.notification.data;
  event.waitUntil(openApp(isOpenConversation(data) ? data.conversation_id : null));
});

async function onPush(data: PushMessageData | null): Promise<void> {
  const payload = parsePushPayload(json(data));
  if (payload && (await watching(payload.conversation_id))) return;
  const { title, body, tag } = payload ? notificationFor(payload) : { title: 'New message', body: '', tag: 'chat' };
  const open: OpenConversation | null = payload ? { type: 'open-conversation', conversation_id: payload.conversation_id } : null;
  await self.registration.showNotification(title, { body, tag, data: open });
}

/** The payload as JSON, or null: a push that is not JSON still shows a plain "New message". */
function json(data: PushMessageData | null): unknown {
  try {
    return data?.json() ?? null;
  } catch {
    return null;
  }
}

/** How long a window has to say which conversation it shows; one that is busy or signed out says nothing. */
const ASK_MS = 1000;

/** Whether a focused, visible window of the app shows this conversation: the message is on screen already. */
async function watching(conversationId: number): Promise<boolean> {
  const windows = await self.clients.matchAll({ type: 'window' });
  const shown = await Promise.all(windows.filter((w) => w.focused && w.visibilityState === 'visible').map(showing));
  return shown.includes(conversationId);
}

/** Asks a window which conversation it shows (its address is no help: it changes without a navigation). */
function showing(window: WindowClient): Promise<number | null> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => resolve(null), ASK_MS);
    channel.port1.onmessage = (event: MessageEvent<ShowingConversation | null>) => {
      clearTimeout(timer);
      resolve(typeof event.data?.conversation_id === 'number' ? event.data.conversation_id : null);
    };
    window.postMessage({ type: 'which-conversation' } satisfies WhichConversation, [channel.port2]);
  });
}

/** Focuses a window of the app (telling it which conversation to show), or opens one. */
async function openApp(conversationId: number | null): Promise<void> {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const target = windows.find((w) => w.focused) ?? windows[0];
  if (!target) {
    await self.clients.openWindow(conversationId === null ? '/' : conversationPath(conversationId));
    return;
  }
  if (conversationId !== null) target.postMessage({ type: 'open-conversation', conversation_id: conversationId } satisfies OpenConversation);
  await target.focus();
}
