import { z } from 'zod';
import { MESSAGE_TYPES, type Attachment, type Message } from '../../domain/message.js';

/** Just under PostgreSQL's 8000-byte NOTIFY payload limit. */
export const MAX_NOTIFY_BYTES = 7_800;

const pushEvent = z.enum(['receiveMessage', 'messageUpdated', 'messageDeleted', 'readReceipt', 'participantAdded', 'participantRemoved']);

/**
 * What one process tells the others over LISTEN/NOTIFY. `n` names the sending
 * process (for logs); every process, the sender included, delivers from this stream.
 */
export const notificationSchema = z.discriminatedUnion('t', [
  /** New messages, inline as compact rows (see `fromCompactRow`), written by the statement that stores them. */
  z.object({ n: z.string(), t: z.literal('mc'), m: z.array(z.tuple([
    z.number().int().positive(), z.number().int().positive(), z.number().int().positive(), z.string(), z.string(),
    z.enum(MESSAGE_TYPES), z.looseObject({ url: z.string() }).nullable(), z.string().nullable(), z.number(),
  ])).min(1) }),
  /** New messages by id, when inline would not fit; read back from the messages table. */
  z.object({ n: z.string(), t: z.literal('mref'), ids: z.array(z.number().int().positive()).min(1) }),
  /** An event for a conversation's followers. */
  z.object({ n: z.string(), t: z.literal('c'), c: z.number().int().positive(), e: pushEvent, d: z.looseObject({}) }),
  /** An event for one user's connections. */
  z.object({ n: z.string(), t: z.literal('u'), u: z.number().int().positive(), e: pushEvent, d: z.looseObject({}) }),
  /** A membership change. */
  z.object({ n: z.string(), t: z.literal('p'), c: z.number().int().positive(), u: z.number().int().positive(), a: z.boolean() }),
  /** Any of the above, too large to inline: parked in notification_payloads. */
  z.object({ n: z.string(), t: z.literal('ref'), r: z.number().int().positive() }),
]);

export type FanoutNotification = z.infer<typeof notificationSchema>;
type CompactRow = Extract<FanoutNotification, { t: 'mc' }>['m'][number];

/** [id, conversation_id, sender_id, sender_username, content, type, attachment, client_id, created_at ms] */
export const fromCompactRow = ([id, conversationId, senderId, senderUsername, content, type, attachment, clientId, createdAt]: CompactRow): Message => ({
  id, conversationId, senderId, senderUsername, content, type,
  attachment: attachment as Attachment | null,
  clientId,
  readAt: null,
  editedAt: null,
  createdAt: new Date(createdAt),
  updatedAt: new Date(createdAt),
});

export const byteLength = (s: string): number => Buffer.byteLength(s, 'utf8');
