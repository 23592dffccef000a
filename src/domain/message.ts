import { fail, ok, type Result } from './result.js';

export const MESSAGE_TYPES = ['text', 'image', 'video', 'file'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export interface Attachment {
  /** An http(s) URL given by the sender, or for an upload this server's `/files/<upload_id>` (views sign it). */
  readonly url: string;
  readonly name?: string;
  readonly mime_type?: string;
  readonly size?: number;
  /** Set for a file uploaded here (docs/API.md, "Files"). */
  readonly upload_id?: string;
  readonly width?: number;
  readonly height?: number;
  /** An image upload has a thumbnail. */
  readonly thumbnail?: boolean;
}

export interface Message {
  readonly id: number;
  readonly conversationId: number;
  readonly senderId: number;
  readonly senderUsername: string;
  readonly content: string;
  readonly type: MessageType;
  readonly attachment: Attachment | null;
  readonly clientId: string | null;
  readonly readAt: Date | null;
  readonly editedAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** A message that has passed validation and waits to be stored. */
export type MessageDraft = Omit<Message, 'id' | 'readAt' | 'editedAt' | 'updatedAt'>;

/** The longest attachment URL (the schema at the edge uses the same bound). */
export const MAX_URL_LENGTH = 2048;

/**
 * Text needs words; media needs an attachment (its content is an optional
 * caption). Returns the attachment to store: clients of the original backend
 * send media with the URL in `content` and no attachment, so for those the URL
 * (an http(s) one) becomes the attachment, and `content` is kept as sent,
 * since that is where those clients read it.
 */
export function checkMessageBody(type: MessageType, content: string, attachment: Attachment | null, maxContentLength: number): Result<Attachment | null> {
  if (content.length > maxContentLength) {
    return fail('CONTENT_TOO_LONG', `Content is longer than ${maxContentLength} characters`, {
      max: maxContentLength,
      length: content.length,
    });
  }
  if (type === 'text') {
    if (content.trim().length === 0) return fail('VALIDATION_FAILED', 'A text message needs non-empty content');
    return ok(attachment);
  }
  if (attachment) return ok(attachment);
  const url = content.trim();
  if (url === '') return fail('VALIDATION_FAILED', `A ${type} message needs an attachment, or its URL as content`);
  if (url.length > MAX_URL_LENGTH || !isHttpUrl(url)) {
    return fail('VALIDATION_FAILED', `A ${type} message without an attachment needs an http(s) URL as its content`, [
      { path: 'content', message: 'must be an http(s) URL' },
    ]);
  }
  return ok({ url });
}

export const isHttpUrl = (value: string): boolean => {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
};
