import { UPLOAD_SEND_REFUSALS } from './file-routes.js';
import type { z } from 'zod';
import type { Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import type { UseCases } from '../../application/use-cases.js';
import {
  conversationRefSchema,
  editMessageSchema,
  joinConversationSchema,
  markReadSchema,
  messageRefSchema,
  sendMessageSchema,
  typingSchema,
} from '../../application/schemas.js';
import { conversationView, messageView, serialisedMessage, streamEventView } from '../../application/views.js';
import type { PushEvent } from '../../application/ports/fanout.js';
import {
  deletedSchema,
  joinedConversationSchema,
  membershipSchema,
  messageViewSchema,
  readReceiptResultSchema,
  typingResultSchema,
} from '../../application/wire-schemas.js';
import { fromThrown, fromZod, type WireError } from './wire-error.js';

export type Outcome = { ok: true; data: unknown } | { ok: false; error: WireError };

/** An answer preceded by pushes: the endpoint sends `pushes` on the connection, in order, then answers with `ack`. */
export class AnswerAfterPushes {
  constructor(
    readonly ack: unknown,
    readonly pushes: ReadonlyArray<{ readonly event: PushEvent; readonly dataJson: string }>,
  ) {}
}

interface EventSpec {
  readonly summary: string;
  /** What the client sends as `data`. */
  readonly input: z.ZodType;
  /** What the server answers in the `ack` frame (Socket.IO: the acknowledgement's `data`). */
  readonly result: z.ZodType;
  /** Refusals particular to the event; validation, rate limits and server failures apply to all. */
  readonly refusals: ReadonlyArray<WireError['code']>;
}

/**
 * The client events of the realtime protocol: what each accepts and answers.
 * The dispatcher validates with these schemas and the AsyncAPI document
 * (asyncapi.ts) is generated from them.
 */
export const CHAT_EVENTS = {
  sendMessage: {
    summary: 'Send a message; a repeated client_id answers with the message first stored (MESSAGE_NOT_FOUND once it is deleted)',
    input: sendMessageSchema,
    result: messageViewSchema,
    refusals: ['CONVERSATION_NOT_FOUND', 'CONTENT_TOO_LONG', 'MESSAGE_NOT_FOUND', 'USER_BLOCKED', ...UPLOAD_SEND_REFUSALS],
  },
  joinConversation: {
    summary: 'Start receiving a conversation’s pushes on this connection, with its latest messages or those after `since`',
    input: joinConversationSchema,
    result: joinedConversationSchema,
    refusals: ['CONVERSATION_NOT_FOUND'],
  },
  leaveConversation: {
    summary: 'Leave a group conversation',
    input: conversationRefSchema,
    result: membershipSchema,
    refusals: ['CONVERSATION_NOT_FOUND', 'NOT_A_GROUP', 'NOT_A_PARTICIPANT'],
  },
  editMessage: {
    summary: 'Edit one of your messages',
    input: editMessageSchema,
    result: messageViewSchema,
    refusals: ['MESSAGE_NOT_FOUND', 'NOT_MESSAGE_SENDER', 'CONTENT_TOO_LONG'],
  },
  deleteMessage: {
    summary: 'Delete one of your messages',
    input: messageRefSchema,
    result: deletedSchema,
    refusals: ['MESSAGE_NOT_FOUND', 'NOT_MESSAGE_SENDER'],
  },
  markRead: {
    summary: 'Mark a conversation read up to a message',
    input: markReadSchema,
    result: readReceiptResultSchema,
    refusals: ['CONVERSATION_NOT_FOUND', 'MESSAGE_NOT_FOUND'],
  },
  typing: {
    summary: 'Tell the other participants you are typing (or stopped)',
    input: typingSchema,
    result: typingResultSchema,
    refusals: ['CONVERSATION_NOT_FOUND'],
  },
} as const satisfies Record<string, EventSpec>;

export type ChatEventName = keyof typeof CHAT_EVENTS;

type Runner<K extends ChatEventName> = (actor: Actor, input: z.output<(typeof CHAT_EVENTS)[K]['input']>) => Promise<Result<unknown>>;

interface EventHandler {
  readonly schema: z.ZodType;
  run(actor: Actor, input: unknown): Promise<Result<unknown>>;
  /** Whether live pushes wait while this event runs (it answers with a replay they must not overtake). */
  holdsPushes?(input: unknown): boolean;
}

const mapped = async <T, U>(result: Promise<Result<T>>, f: (value: T) => U): Promise<Result<U>> => {
  const r = await result;
  return r.ok ? { ok: true, value: f(r.value) } : r;
};

/** The client events bound to the use cases, for every transport that speaks the protocol. */
export function chatEvents(u: UseCases): ReadonlyMap<string, EventHandler> {
  const runners: { [K in ChatEventName]: Runner<K> } = {
    sendMessage: (a, i) => mapped(u.sendMessage.execute(a, i), (s) => serialisedMessage(s.message)),
    joinConversation: (a, i) =>
      mapped(u.joinConversation.execute(a, i), (j) => {
        const answer = { conversation: conversationView(j.conversation, j.participants), messages: j.messages.map(messageView), has_more: j.hasMore };
        if (!j.replay) return answer;
        // Replayed as the very pushes they were live: a message's frame is the one its live push used.
        const pushes = j.replay.events.map((e) => {
          const view = streamEventView(e);
          return { event: view.event as PushEvent, dataJson: JSON.stringify(view.data) };
        });
        return new AnswerAfterPushes({ ...answer, next_cursor: String(j.replay.next) }, pushes);
      }),
    leaveConversation: (a, i) => u.leaveConversation.execute(a, i.conversation_id),
    editMessage: (a, i) => mapped(u.editMessage.execute(a, i), messageView),
    deleteMessage: (a, i) => u.deleteMessage.execute(a, i.message_id),
    markRead: (a, i) => u.markRead.execute(a, i),
    typing: (a, i) => u.sendTyping.execute(a, i),
  };
  const handlers = new Map<string, EventHandler>(
    (Object.keys(CHAT_EVENTS) as ChatEventName[]).map((name) => [name, { schema: CHAT_EVENTS[name].input, run: runners[name] as EventHandler['run'] }]),
  );
  handlers.set('joinConversation', { ...handlers.get('joinConversation')!, holdsPushes: (input) => (input as { since?: unknown } | undefined)?.since != null });
  return handlers;
}

/** Validates and runs one client event; never throws. */
export async function dispatch(
  events: ReadonlyMap<string, EventHandler>,
  actor: Actor,
  event: string,
  data: unknown,
  onUnexpected: (error: unknown) => void,
): Promise<Outcome> {
  const h = events.get(event);
  if (!h) return { ok: false, error: { code: 'UNKNOWN_EVENT', message: `Unknown event "${event.slice(0, 64)}"` } };
  const parsed = h.schema.safeParse(data ?? {});
  if (!parsed.success) return { ok: false, error: fromZod(parsed.error) };
  try {
    const result = await h.run(actor, parsed.data);
    return result.ok ? { ok: true, data: result.value } : { ok: false, error: result.error };
  } catch (error) {
    onUnexpected(error);
    return { ok: false, error: fromThrown(error) };
  }
}
