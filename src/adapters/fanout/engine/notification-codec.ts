import { MESSAGE_TYPES, type Attachment, type Message, type MessageDraft, type MessageType } from '../../../domain/message.js';
import { ACCESS_CHANGES, type AccessChange } from '../../../domain/session.js';
import { isPushEvent, type AccessChangeNotice, type MembershipChange, type PushEvent } from '../../../application/ports/fanout.js';

/**
 * What processes tell each other through the broker, whichever it is: the
 * encoder and the decoder of every notification, side by side. Payloads are
 * JSON objects whose `t` names the kind; `n` names the sending process (for
 * logs and to recognise its own).
 */

/** Just under PostgreSQL's 8000-byte NOTIFY payload limit (the write statement's chunks fit it). */
export const MAX_NOTIFY_BYTES = 7_800;

export type Notification =
  /**
   * New messages of one write lane (PostgreSQL: written by the statement that
   * stores them; `rows` null: read them back by id) or of one conversation
   * (brokers routing by interest). `prev` is the lane's (or the
   * conversation's) highest id before the batch: a receiver behind it has a gap.
   */
  | {
      readonly t: 'm';
      readonly lane: number;
      readonly prev: number;
      readonly ids: ReadonlyArray<number | null>;
      readonly rows: readonly Message[] | null;
    }
  /** An event for the followers of these conversations; `dataJson` is delivered as is. */
  | { readonly t: 'c'; readonly conversations: readonly number[]; readonly event: PushEvent; readonly except: number | null; readonly dataJson: string }
  /** An event for one user's connections. */
  | { readonly t: 'u'; readonly user: number; readonly event: PushEvent; readonly dataJson: string }
  /**
   * Users joining or leaving one conversation; `head`, with brokers routing by
   * interest, is the conversation's latest message id when the change was
   * announced: a process that starts following it delivers what comes after.
   */
  | { readonly t: 'p'; readonly conversation: number; readonly users: readonly number[]; readonly added: boolean; readonly head: number | null }
  /**
   * A user's (or one session's) access ended or changed. Also written by the
   * users table's trigger (migration 20261128000300-sessions): `{"t":"a","n":"database","u":…,"s":null,"c":…}`.
   */
  | { readonly t: 'a'; readonly notice: AccessChangeNotice }
  /** Something cached about these conversations changed (a block between a direct conversation's people): caches forget them. */
  | { readonly t: 'k'; readonly conversations: readonly number[] };

const header = (t: string, node: string) => `{"t":"${t}","n":${JSON.stringify(node)}`;

// ---------------------------------------------------------------- encoders

export function encodeConversationEvent(node: string, conversations: readonly number[], event: PushEvent, dataJson: string, except: number | null): string {
  // `d` goes last, so a receiver can take it as the raw text it was sent as.
  return `${header('c', node)},"c":${JSON.stringify(conversations)},"e":"${event}","x":${except ?? 'null'},"d":${dataJson}}`;
}

export function encodeUserEvent(node: string, user: number, event: PushEvent, dataJson: string): string {
  return `${header('u', node)},"u":${user},"e":"${event}","d":${dataJson}}`;
}

export function encodeMembership(node: string, conversation: number, users: readonly number[], added: boolean, head: number | null = null): string {
  return `${header('p', node)},"c":${conversation},"a":${added},"u":${JSON.stringify(users)}${head === null ? '' : `,"h":${head}`}}`;
}

export function encodeAccessChange(node: string, notice: AccessChangeNotice): string {
  return `${header('a', node)},"u":${notice.userId},"s":${JSON.stringify(notice.sessionId)},"c":"${notice.change}"}`;
}

export function encodeConversationsChanged(node: string, conversations: readonly number[]): string {
  return `${header('k', node)},"c":${JSON.stringify(conversations)}}`;
}

/** One conversation's part of a committed batch, published by the engine (brokers routing by interest). */
export function encodeMessages(node: string, lane: number, prev: number, messages: readonly Message[]): string {
  return `${messagesPrefix(node)},"l":${lane},"i":${JSON.stringify(messages.map((m) => m.id))},"p":${prev},"r":[${messages.map(rowOf).join(',')}]}`;
}

const rowOf = (d: MessageDraft): string =>
  JSON.stringify([d.conversationId, d.senderId, d.senderUsername, d.content, d.type, d.attachment, d.clientId, d.createdAt.getTime()]);

/**
 * A message batch's notifications on PostgreSQL are written by the statement
 * that stores it, which alone knows the ids. The statement gets each row's
 * chunk number and each chunk's rows as JSON, and writes one notification per
 * chunk: `prefix || <the chunk's ids as a JSON array, null where not inserted>
 * || ',"p":' || <the lane's previous id> || ',"r":' || rows || '}'`.
 */
export interface MessageChunks {
  readonly prefix: string;
  /** For each row of the batch, its chunk (1-based). */
  readonly chunkOfRow: number[];
  /** Each chunk's rows as a JSON array, or 'null' for a row too large to inline (read back by id). */
  readonly rows: string[];
}

/** Room for the ids the statement splices in (up to 19 digits and a comma each) and the framing (with the previous id). */
const ID_BYTES = 20;
const FRAMING_BYTES = 40;

/** How every message notification of one process begins (so it can recognise its own cheaply). */
export const messagesPrefix = (node: string): string => header('m', node);

export function encodeMessageChunks(node: string, lane: number, drafts: readonly MessageDraft[]): MessageChunks {
  const prefix = `${messagesPrefix(node)},"l":${lane},"i":`;
  const budget = MAX_NOTIFY_BYTES - byteLength(prefix) - FRAMING_BYTES;
  const chunkOfRow: number[] = [];
  const chunks: string[] = [];
  let open: string[] = [];
  let bytes = 2;
  const close = () => {
    if (open.length === 0) return;
    chunks.push(`[${open.join(',')}]`);
    open = [];
    bytes = 2;
  };
  for (const d of drafts) {
    const row = rowOf(d);
    const size = byteLength(row) + 1 + ID_BYTES;
    if (size + 2 > budget) {
      // Too large for any notification: announced by id alone, read back by every process.
      close();
      chunks.push('null');
      chunkOfRow.push(chunks.length);
      continue;
    }
    if (bytes + size > budget) close();
    open.push(row);
    bytes += size;
    chunkOfRow.push(chunks.length + 1);
  }
  close();
  return { prefix, chunkOfRow, rows: chunks };
}

// ---------------------------------------------------------------- decoder

/** Returns null for anything malformed: checked cheaply, without a schema library on the hot path. */
export function decode(raw: string): Notification | null {
  let v: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
    v = parsed as Record<string, unknown>;
  } catch {
    return null;
  }
  switch (v.t) {
    case 'm': {
      const { l: lane, i: ids, r: rows, p: prev } = v;
      if (!isIndex(lane) || !isIndex(prev) || !Array.isArray(ids) || !ids.every((id) => id === null || isId(id))) return null;
      if (rows === null) return { t: 'm', lane, prev, ids: ids as Array<number | null>, rows: null };
      if (!Array.isArray(rows) || rows.length !== ids.length) return null;
      const messages: Message[] = [];
      for (let k = 0; k < rows.length; k++) {
        const id = ids[k] as number | null;
        const m = toMessage(id ?? 0, rows[k]);
        if (!m) return null;
        messages.push(m);
      }
      return { t: 'm', lane, prev, ids: ids as Array<number | null>, rows: messages };
    }
    case 'c': {
      const { c, e, x } = v;
      if (!Array.isArray(c) || !c.every(isId) || !isPushEvent(e) || !(x === null || isId(x)) || !isObject(v.d)) return null;
      return { t: 'c', conversations: c as number[], event: e, except: x as number | null, dataJson: dataOf(raw) };
    }
    case 'u':
      if (!isId(v.u) || !isPushEvent(v.e) || !isObject(v.d)) return null;
      return { t: 'u', user: v.u, event: v.e, dataJson: dataOf(raw) };
    case 'p':
      if (!isId(v.c) || typeof v.a !== 'boolean' || !Array.isArray(v.u) || !v.u.every(isId) || !(v.h === undefined || isIndex(v.h))) return null;
      return { t: 'p', conversation: v.c, users: v.u as number[], added: v.a, head: (v.h as number | undefined) ?? null };
    case 'a':
      if (!isId(v.u) || !(v.s === null || (typeof v.s === 'string' && v.s.length <= 64)) || !ACCESS_CHANGES.includes(v.c as AccessChange)) return null;
      return { t: 'a', notice: { userId: v.u, sessionId: v.s as string | null, change: v.c as AccessChange } };
    case 'k':
      if (!Array.isArray(v.c) || v.c.length === 0 || !v.c.every(isId)) return null;
      return { t: 'k', conversations: v.c as number[] };
    default:
      return null;
  }
}

export const membershipChanges = (n: Extract<Notification, { t: 'p' }>): MembershipChange[] =>
  n.users.map((userId) => ({ conversationId: n.conversation, userId, added: n.added }));

/** The raw text of `d`, which every encoder writes last. */
const dataOf = (raw: string): string => raw.slice(raw.indexOf(',"d":') + 5, -1);

/** [conversation_id, sender_id, sender_username, content, type, attachment, client_id, created_at ms] */
function toMessage(id: number, row: unknown): Message | null {
  if (!Array.isArray(row) || row.length !== 8) return null;
  const [conversationId, senderId, senderUsername, content, type, attachment, clientId, createdAt] = row as unknown[];
  if (!isId(conversationId) || !isId(senderId) || typeof senderUsername !== 'string' || typeof content !== 'string') return null;
  if (!MESSAGE_TYPES.includes(type as MessageType) || !(attachment === null || isObject(attachment))) return null;
  if (!(clientId === null || typeof clientId === 'string') || typeof createdAt !== 'number') return null;
  const at = new Date(createdAt);
  return {
    id,
    conversationId,
    senderId,
    senderUsername,
    content,
    type: type as MessageType,
    attachment: attachment as Attachment | null,
    clientId: clientId as string | null,
    readAt: null,
    editedAt: null,
    createdAt: at,
    updatedAt: at,
  };
}

const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isObject = (v: unknown): v is object => v !== null && typeof v === 'object' && !Array.isArray(v);

export const byteLength = (s: string): number => Buffer.byteLength(s, 'utf8');
