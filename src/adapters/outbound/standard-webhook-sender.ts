import type { SendOutcome, WebhookEndpoint, WebhookMessage, WebhookPolicy, WebhookSender } from '../../application/ports/webhooks.js';
import { outboundRequest } from './outbound-request.js';
import { checkOutboundUrl } from './outbound-url.js';
import { newWebhookSecret, signWebhook, webhookSecretProblem } from './webhook-signature.js';

export interface StandardWebhookSenderOptions {
  /** One deadline per attempt: connect, headers and the body read. */
  readonly timeoutMs: number;
  /** Allow http: and non-public addresses (OUTBOUND_ALLOW_PRIVATE). */
  readonly allowPrivate: boolean;
  /** The clock of `webhook-timestamp`. @default Date.now */
  readonly now?: () => number;
}

/** How much of a failing answer's body is kept for the deliveries list. */
const ERROR_EXCERPT_BYTES = 300;

/** Signs and POSTs webhooks over the outbound guard; a 2xx is success, anything else a failure to retry. */
export class StandardWebhookSender implements WebhookSender {
  constructor(private readonly options: StandardWebhookSenderOptions) {}

  async send(endpoint: Pick<WebhookEndpoint, 'url' | 'secret'>, message: WebhookMessage): Promise<SendOutcome> {
    const body = JSON.stringify({ type: message.type, timestamp: message.timestamp.toISOString(), data: message.data });
    const timestamp = Math.floor((this.options.now ?? Date.now)() / 1000);
    const result = await outboundRequest(endpoint.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'chat-webhooks',
        'webhook-id': message.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signWebhook(endpoint.secret, message.id, timestamp, body),
      },
      body,
      timeoutMs: this.options.timeoutMs,
      connectTimeoutMs: this.options.timeoutMs,
      maxResponseBytes: ERROR_EXCERPT_BYTES,
      allowPrivate: this.options.allowPrivate,
    });
    if (!result.ok) return { ok: false, status: result.status ?? null, error: `${result.failure}: ${result.message}` };
    if (result.status >= 200 && result.status < 300) return { ok: true, status: result.status };
    return { ok: false, status: result.status, error: `HTTP ${result.status}: ${result.body.slice(0, ERROR_EXCERPT_BYTES)}` };
  }
}

/** URLs through the outbound guard, secrets in the Standard Webhooks form. */
export class StandardWebhookPolicy implements WebhookPolicy {
  constructor(private readonly allowPrivate: boolean) {}

  newSecret(): string {
    return newWebhookSecret();
  }

  secretProblem(secret: string): string | null {
    return webhookSecretProblem(secret);
  }

  urlProblem(url: string): string | null {
    const checked = checkOutboundUrl(url, this.allowPrivate);
    return checked.ok ? null : checked.reason;
  }
}
