import type { ChatClient } from '../chat-client.js';
import { h } from './dom.js';

/**
 * - `unsupported`: this browser has no service worker, Push API or notifications
 * - `unavailable`: the server offers no Web Push (its key route does not answer 200)
 * - `blocked`: the user denied notifications for this site (only the browser's settings undo that)
 */
export type NotificationsState = 'checking' | 'unsupported' | 'unavailable' | 'blocked' | 'off' | 'on' | 'working';

const WORKER = '/sw.js';
const LABELS: Record<NotificationsState, string> = {
  checking: 'Notifications…',
  unsupported: 'Notifications: not supported by this browser',
  unavailable: 'Notifications',
  blocked: 'Notifications: blocked',
  off: 'Notifications: off',
  on: 'Notifications: on',
  working: 'Notifications…',
};

const supported = (): boolean => 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;

/** base64url (the server's key) to bytes, as `applicationServerKey` wants them. */
function base64UrlBytes(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(
    text
      .replace(/-/g, '+')
      .replace(/_/g, '/')
      .padEnd(Math.ceil(text.length / 4) * 4, '='),
  );
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

const sameBytes = (a: ArrayBuffer | null | undefined, b: Uint8Array): boolean =>
  !!a && a.byteLength === b.byteLength && new Uint8Array(a).every((byte, i) => byte === b[i]);

/**
 * The "Notifications" switch in the header. Turning it on asks for permission,
 * registers the service worker, subscribes with the server's VAPID key and
 * hands the subscription to the server; turning it off does the reverse. A
 * browser that is subscribed already hands its subscription to the server
 * again at sign-in, so it reaches whoever is signed in now.
 */
export class NotificationsControl {
  readonly element: HTMLButtonElement;
  private state: NotificationsState = 'checking';
  private key: Uint8Array<ArrayBuffer> | null = null;
  private readonly status: HTMLElement;

  constructor(private readonly client: ChatClient) {
    this.element = h('button', { type: 'button', className: 'notifications', hidden: true });
    this.status = h('span', { className: 'notifications-status error', role: 'status' });
    this.element.addEventListener('click', () => void this.toggle());
    this.show('checking');
  }

  /** Why the last change failed, to show beside the switch. */
  get statusElement(): HTMLElement {
    return this.status;
  }

  /** Finds out what this browser and the server offer, and re-sends a subscription the browser has. */
  async start(): Promise<void> {
    if (!supported()) return this.show('unsupported');
    const answer = await this.call('GET', '/push/vapid-public-key').catch(() => null);
    const key = answer?.ok ? ((await answer.json().catch(() => null)) as { public_key?: unknown } | null)?.public_key : undefined;
    if (typeof key !== 'string' || key === '') return this.show('unavailable');
    this.key = base64UrlBytes(key);
    if (Notification.permission === 'denied') return this.show('blocked');
    const subscription = await this.subscription();
    if (!subscription || Notification.permission !== 'granted') return this.show('off');
    await this.run(async () => {
      // The server's key changed since: a subscription made with the old one gets no pushes.
      const current = sameBytes(subscription.options.applicationServerKey, this.key!) ? subscription : await this.resubscribe(subscription);
      await this.send('POST', '/push/subscriptions', current.toJSON(), 201);
      return 'on';
    });
  }

  /** Tells the server to stop pushing to this browser for the user signing out; the browser keeps its subscription for the next sign-in. */
  async signOut(): Promise<void> {
    if (this.state !== 'on') return;
    const subscription = await this.subscription();
    if (subscription) await this.send('DELETE', '/push/subscriptions', { endpoint: subscription.endpoint }, 204);
  }

  private async toggle(): Promise<void> {
    if (this.state === 'on') {
      await this.run(async () => {
        const subscription = await this.subscription();
        if (subscription) {
          await this.send('DELETE', '/push/subscriptions', { endpoint: subscription.endpoint }, 204);
          await subscription.unsubscribe();
        }
        return 'off';
      });
    } else if (this.state === 'off') {
      await this.run(async () => {
        const permission = await Notification.requestPermission();
        if (permission !== 'granted') return permission === 'denied' ? 'blocked' : 'off';
        await navigator.serviceWorker.register(WORKER, { scope: '/' });
        const registration = await navigator.serviceWorker.ready;
        const subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: this.key! });
        await this.send('POST', '/push/subscriptions', subscription.toJSON(), 201);
        return 'on';
      });
    }
  }

  /** Runs a change with the switch disabled; a failure leaves it off (or on) with the reason beside it. */
  private async run(change: () => Promise<NotificationsState>): Promise<void> {
    const before = this.state;
    this.show('working');
    this.status.textContent = '';
    try {
      this.show(await change());
    } catch (error) {
      this.status.textContent = `Notifications: ${error instanceof Error ? error.message : String(error)}`;
      this.show(before === 'on' ? 'on' : 'off');
    }
  }

  private async resubscribe(old: PushSubscription): Promise<PushSubscription> {
    await this.send('DELETE', '/push/subscriptions', { endpoint: old.endpoint }, 204).catch(() => undefined);
    await old.unsubscribe();
    const registration = await navigator.serviceWorker.ready;
    return registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: this.key! });
  }

  private async subscription(): Promise<PushSubscription | null> {
    const registration = await navigator.serviceWorker.getRegistration('/');
    return (await registration?.pushManager.getSubscription()) ?? null;
  }

  private show(state: NotificationsState): void {
    this.state = state;
    const button = this.element;
    button.dataset.state = state;
    button.textContent = LABELS[state];
    button.hidden = state === 'unavailable' || state === 'checking';
    button.disabled = state !== 'on' && state !== 'off';
    button.ariaPressed = state === 'on' ? 'true' : 'false';
    button.title = state === 'blocked' ? 'Allow notifications for this site in the browser’s settings to turn them on' : '';
  }

  private async send(method: string, path: string, body: unknown, expected: number): Promise<void> {
    const answer = await this.call(method, path, body);
    if (answer.status !== expected) throw new Error(`the server answered ${answer.status}`);
  }

  /** A request with the client's access token; once more after a renewal when the token had run out. */
  private async call(method: string, path: string, body?: unknown): Promise<Response> {
    const once = () =>
      fetch(path, {
        method,
        headers: { authorization: `Bearer ${this.client.token ?? ''}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const answer = await once();
    if (answer.status !== 401) return answer;
    await this.client.me(); // renews the access token, or fails when the session has ended
    return once();
  }
}
