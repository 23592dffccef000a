/**
 * What the server pushes (Web Push, decrypted by the browser) and what the
 * service worker tells the app's windows. Shared by the app and the worker,
 * so this file uses no DOM and no worker API.
 */
export interface PushPayload {
  readonly conversation_id: number;
  readonly message_id: number;
  /** Unread messages in the conversation, this one included. */
  readonly count: number;
  readonly sender: string;
  /** Only when the server is configured to include message text in pushes. */
  readonly content?: string;
}

/** The worker asks a window to show a conversation (after a notification click). */
export interface OpenConversation {
  readonly type: 'open-conversation';
  readonly conversation_id: number;
}

/** The worker asks a window which conversation it shows; the answer goes to the port sent along. */
export interface WhichConversation {
  readonly type: 'which-conversation';
}

/** The window's answer to `WhichConversation`. */
export interface ShowingConversation {
  readonly conversation_id: number | null;
}

const positiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/** The payload, or null when it is not one (a push service, or a future server, may send anything). */
export function parsePushPayload(raw: unknown): PushPayload | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const p = raw as Record<string, unknown>;
  if (!positiveInt(p.conversation_id)) return null;
  return {
    conversation_id: p.conversation_id,
    message_id: positiveInt(p.message_id) ? p.message_id : 0,
    count: positiveInt(p.count) ? p.count : 1,
    sender: typeof p.sender === 'string' ? p.sender : '',
    ...(typeof p.content === 'string' && p.content !== '' ? { content: p.content } : {}),
  };
}

/** The longest body shown; the notification area shows far less anyway. */
const BODY_CHARS = 200;

/**
 * Title, body and tag of the notification for a push. One tag per
 * conversation, so a newer push replaces the older notification.
 */
export function notificationFor(p: PushPayload): { title: string; body: string; tag: string } {
  const title = p.sender || 'New message';
  const body = p.content !== undefined ? p.content.slice(0, BODY_CHARS) : p.count === 1 ? '1 new message' : `${p.count} new messages`;
  return { title, body, tag: `conversation-${p.conversation_id}` };
}

/** The app's address showing a conversation (the fragment never reaches the server). */
export const conversationPath = (conversationId: number): string => `/#conversation=${conversationId}`;

/** The conversation a URL's fragment names, if any. */
export function conversationInUrl(url: string): number | null {
  const match = /#conversation=(\d{1,15})$/.exec(url);
  return match ? Number(match[1]) : null;
}

export const isOpenConversation = (data: unknown): data is OpenConversation =>
  typeof data === 'object' &&
  data !== null &&
  (data as OpenConversation).type === 'open-conversation' &&
  positiveInt((data as OpenConversation).conversation_id);

export const isWhichConversation = (data: unknown): data is WhichConversation =>
  typeof data === 'object' && data !== null && (data as WhichConversation).type === 'which-conversation';
