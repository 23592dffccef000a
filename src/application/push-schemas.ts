import { z } from 'zod';
import { text } from './schemas.js';

/** Push endpoints are URLs a browser's push service handed out; none is near this long. */
export const MAX_ENDPOINT_LENGTH = 2048;

/** Unpadded base64url (a trailing `=` padding is tolerated) decoding to exactly `bytes` bytes, the first one `first` if given. */
const base64urlKey = (bytes: number, what: string, first?: number) =>
  z
    .string()
    .max(200, 'is too long')
    .regex(/^[A-Za-z0-9_-]+={0,2}$/, 'must be base64url')
    .refine((v) => {
      const decoded = Buffer.from(v, 'base64url');
      return decoded.length === bytes && (first === undefined || decoded[0] === first);
    }, what);

/** The browser's PushSubscription, as `PushSubscription.toJSON()` gives it. */
export const pushSubscriptionSchema = z.object({
  endpoint: z
    .string()
    .min(1, 'is required')
    .max(MAX_ENDPOINT_LENGTH, `must be at most ${MAX_ENDPOINT_LENGTH} characters`)
    .refine((v) => URL.canParse(v), 'must be a URL'),
  expirationTime: z
    .number()
    .int('must be an integer')
    .min(0, 'must be 0 or more')
    .max(8_640_000_000_000_000, 'is out of range')
    .nullable()
    .optional()
    .describe('When the push service ends the subscription, in milliseconds since the epoch'),
  keys: z.object({
    p256dh: base64urlKey(65, 'must be base64url of an uncompressed P-256 public key (65 bytes starting 0x04)', 0x04),
    auth: base64urlKey(16, 'must be base64url of 16 bytes'),
  }),
});
export type PushSubscriptionInput = z.infer<typeof pushSubscriptionSchema>;

export const pushEndpointSchema = z.object({
  endpoint: text(MAX_ENDPOINT_LENGTH).min(1, 'is required'),
});

export const vapidPublicKeySchema = z.object({ public_key: z.string().describe('The applicationServerKey for `pushManager.subscribe`: base64url') });
export const registeredSubscriptionSchema = z.object({ endpoint: z.string() });
export const muteSchema = z.object({ conversation_id: z.number().int(), muted: z.boolean() });
