import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type {
  ConversationSummary,
  DeviceSession,
  Message,
  Participant,
  PushEvents,
  Requests,
  ServerErrorCode,
  Session,
  User,
} from '../../client/chat-client.js';
import type { PushEvent } from '../../src/application/ports/fanout.js';
import type { UseCases } from '../../src/application/use-cases.js';
import type { conversationSummaryView, messageView, userView } from '../../src/application/views.js';
import type { joinedConversationSchema, participantSchema, sessionViewSchema, signedInSchema } from '../../src/application/wire-schemas.js';
import type { PushPayload as AppPushPayload } from '../../client/app/push-messages.js';
import type { PushPayload } from '../../src/application/offline-notifier.js';
import { chatEvents } from '../../src/adapters/gateway/chat-events.js';
import type { WireError } from '../../src/adapters/gateway/wire-error.js';

/*
 * The client module cannot import the server's code (it runs in browsers), so
 * its wire types are a second copy. These assertions tie the copy to the
 * server's types; `npm test` type-checks this file before running anything,
 * so a field, event or error code added on one side only fails the run.
 */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const agree = <T extends true>(): T | undefined => undefined;

agree<Equal<ServerErrorCode, WireError['code']>>();
agree<Equal<keyof PushEvents, PushEvent>>();
agree<Equal<keyof Message, keyof ReturnType<typeof messageView>>>();
agree<Equal<keyof User, keyof ReturnType<typeof userView>>>();
agree<Equal<keyof ConversationSummary, keyof ReturnType<typeof conversationSummaryView>>>();
agree<Equal<keyof Session, keyof z.infer<typeof signedInSchema>>>();
agree<Equal<keyof DeviceSession, keyof z.infer<typeof sessionViewSchema>>>();
agree<Equal<keyof Participant, keyof z.infer<typeof participantSchema>>>();
agree<Equal<AppPushPayload, PushPayload>>();
agree<Equal<keyof Requests['joinConversation']['result'], keyof z.infer<typeof joinedConversationSchema>>>();

const CLIENT_EVENTS = ['sendMessage', 'joinConversation', 'leaveConversation', 'editMessage', 'deleteMessage', 'markRead', 'typing'] as const;
agree<Equal<(typeof CLIENT_EVENTS)[number], keyof Requests>>();

describe('the client module’s wire contract', () => {
  it('has a request type for exactly the client events the server dispatches', () => {
    const served = [...chatEvents({} as UseCases).keys()].sort();
    expect([...CLIENT_EVENTS].sort()).toEqual(served);
  });
});
