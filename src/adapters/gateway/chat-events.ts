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
import { conversationView, messageView } from '../../application/views.js';
import { fromThrown, fromZod, type WireError } from './wire-error.js';

export type Outcome = { ok: true; data: unknown } | { ok: false; error: WireError };

interface EventHandler<S extends z.ZodType> {
  readonly schema: S;
  run(actor: Actor, input: z.infer<S>): Promise<Result<unknown>>;
}

const handler = <S extends z.ZodType>(schema: S, run: EventHandler<S>['run']): EventHandler<z.ZodType> =>
  ({ schema, run }) as EventHandler<z.ZodType>;

const mapped = async <T, U>(result: Promise<Result<T>>, f: (value: T) => U): Promise<Result<U>> => {
  const r = await result;
  return r.ok ? { ok: true, value: f(r.value) } : r;
};

/** The client events of the realtime protocol, shared by every transport that speaks it. */
export function chatEvents(u: UseCases): ReadonlyMap<string, EventHandler<z.ZodType>> {
  return new Map([
    ['sendMessage', handler(sendMessageSchema, (a, i) => mapped(u.sendMessage.execute(a, i), (s) => messageView(s.message)))],
    [
      'joinConversation',
      handler(joinConversationSchema, (a, i) =>
        mapped(u.joinConversation.execute(a, i), (j) => ({
          conversation: conversationView(j.conversation, j.participants),
          messages: j.messages.map(messageView),
          has_more: j.hasMore,
        })),
      ),
    ],
    ['leaveConversation', handler(conversationRefSchema, (a, i) => u.leaveConversation.execute(a, i.conversation_id))],
    ['editMessage', handler(editMessageSchema, (a, i) => mapped(u.editMessage.execute(a, i), messageView))],
    ['deleteMessage', handler(messageRefSchema, (a, i) => u.deleteMessage.execute(a, i.message_id))],
    ['markRead', handler(markReadSchema, (a, i) => u.markRead.execute(a, i))],
    ['typing', handler(typingSchema, (a, i) => u.sendTyping.execute(a, i))],
  ]);
}

/** Validates and runs one client event; never throws. */
export async function dispatch(
  events: ReadonlyMap<string, EventHandler<z.ZodType>>,
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
