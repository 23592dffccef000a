import { z } from 'zod';
import { MESSAGE_TYPES } from '../domain/message.js';
import { ROLES } from '../domain/user.js';
import { REPLAYED_AS, type ReplayedType } from './ports/event-stream.js';

/**
 * What the server sends: the shape of every reply and push, as zod schemas.
 * The views (views.ts) are typed by them, the pushed events are listed by
 * them, and the OpenAPI and AsyncAPI documents are generated from them, so
 * the code, the types and the documents cannot drift apart.
 */

const iso = z.iso.datetime({ offset: true });
const isoOrNull = iso.nullable();
const int = z.number().int();

export const userSummarySchema = z.object({ id: int, username: z.string() }).meta({ id: 'UserSummary' });

export const participantSchema = z
  .object({
    id: int,
    username: z.string(),
    online: z.boolean().optional().describe('Present where presence was read (participants, joinConversation)'),
    last_seen_at: isoOrNull.optional(),
    display_name: z.string().nullable().optional(),
    role: z.enum(ROLES).optional(),
    picture_url: z.string().nullable().optional(),
  })
  .meta({ id: 'Participant' });

/** What anyone allowed to see a user is shown: never the e-mail or the phone number. */
export const publicProfileSchema = z
  .object({
    id: int,
    username: z.string(),
    display_name: z.string().nullable(),
    role: z.enum(ROLES),
    picture_url: z.string().nullable(),
    online: z.boolean(),
    last_seen_at: isoOrNull,
  })
  .meta({ id: 'PublicProfile' });

export const attachmentViewSchema = z
  .object({
    url: z.string().describe('For an upload: a signed link to this server’s `/files/<upload_id>`, valid for minutes (read the message again for a fresh one)'),
    name: z.string().optional(),
    mime_type: z.string().optional(),
    size: int.optional(),
    upload_id: z.string().optional().describe('Set for a file uploaded to this server (POST /uploads)'),
    width: int.optional().describe('Images: pixels, upright'),
    height: int.optional(),
    thumbnail_url: z.string().optional().describe('Images: a signed link to a thumbnail (WebP, at most 320 px)'),
  })
  .meta({ id: 'Attachment' });

export const messageViewSchema = z
  .object({
    id: int,
    conversation: int.describe('The conversation id (the original backend’s field)'),
    conversation_id: int,
    sender: userSummarySchema,
    sender_id: int,
    content: z.string(),
    type: z.enum(MESSAGE_TYPES),
    attachment: attachmentViewSchema.nullable(),
    client_id: z.string().nullable(),
    read_at: isoOrNull,
    edited_at: isoOrNull,
    created_at: iso,
    updated_at: iso,
  })
  .meta({ id: 'Message' });

export const conversationViewSchema = z
  .object({
    id: int,
    title: z.string().nullable(),
    kind: z.enum(['direct', 'group']),
    is_open: z.boolean(),
    created_by: int,
    created_at: iso,
    updated_at: iso,
    participants: z.array(participantSchema).optional(),
  })
  .meta({ id: 'Conversation' });

export const conversationSummarySchema = conversationViewSchema
  .extend({
    participants: z.array(participantSchema).describe('The first 50 participants by id'),
    participant_count: int,
    last_message: messageViewSchema.nullable(),
    unread_count: int.min(0).max(100).describe('Counted up to 100: 100 means 100 or more (show "99+")'),
  })
  .meta({ id: 'ConversationSummary' });

export const userViewSchema = z
  .object({
    id: int,
    email: z.string(),
    username: z.string(),
    phone_number: z.string().nullable(),
    profile_picture: z.string().nullable(),
    display_name: z.string().nullable(),
    role: z.enum(ROLES),
    is_active: z.boolean(),
    is_staff: z.boolean(),
    date_joined: iso,
    last_login: isoOrNull,
  })
  .meta({ id: 'User' });

export const signedInSchema = z
  .object({
    user: userViewSchema,
    token: z.string().describe('The access token (a JWT): send it as a bearer token'),
    expires_at: iso,
    refresh_token: z.string().describe('Opaque; exchange it at POST /auth/refresh before `refresh_expires_at`'),
    refresh_expires_at: iso,
  })
  .meta({ id: 'SignedIn' });

export const sessionViewSchema = z
  .object({
    id: z.string(),
    device: z.string().nullable(),
    ip: z.string().nullable(),
    created_at: iso,
    last_used_at: iso,
    expires_at: iso,
    current: z.boolean(),
  })
  .meta({ id: 'Session' });

export const messagePageSchema = z
  .object({
    messages: z.array(messageViewSchema),
    has_more: z.boolean(),
    reactions: z
      .record(z.string(), z.array(z.object({ emoji: z.string(), count: int, me: z.boolean() })))
      .optional()
      .describe('By message id, the messages that have reactions: each emoji’s count and whether the caller gave it'),
    read_by: z.record(z.string(), int).optional().describe('Groups only: by message id, how many participants other than the sender have read it'),
  })
  .meta({ id: 'MessagePage' });

export const searchResultsSchema = z
  .object({
    results: z.array(
      z.object({
        message: messageViewSchema,
        snippet: z.string().describe('The content around the matches, HTML-escaped; each match inside <mark>…</mark>'),
        rank: z.number(),
      }),
    ),
    next_cursor: z.string().nullable(),
  })
  .meta({ id: 'SearchResults' });

export const readStateSchema = z
  .object({
    conversation_id: int,
    participants: z.array(z.object({ user_id: int, username: z.string(), last_read_message_id: int.nullable() })),
  })
  .meta({ id: 'ReadState' });

export const messageVersionsSchema = z
  .object({
    message_id: int,
    versions: z
      .array(z.object({ content: z.string(), created_at: iso, replaced_at: iso }))
      .describe('Prior versions, oldest first; the current one is the message'),
  })
  .meta({ id: 'MessageVersions' });

export const conversationStateSchema = z.object({ conversation_id: int, title: z.string().nullable(), deleted: z.boolean() }).meta({ id: 'ConversationState' });
export const archivedSchema = z.object({ conversation_id: int, archived: z.boolean() }).meta({ id: 'Archived' });

export const reactionResultSchema = z.object({ message_id: int, reactions: z.array(z.object({ emoji: z.string(), count: int })) }).meta({ id: 'Reactions' });
export const conversationListSchema = z
  .object({ conversations: z.array(conversationSummarySchema), next_cursor: z.string().nullable() })
  .meta({ id: 'ConversationList' });
/** One event of a conversation's stream, as replayed: `event` and `data` are exactly the pushed event it was delivered as live. */
export const streamEventSchema = z
  .object({
    id: int.describe('Its place in the stream; pass the last one seen as `since`'),
    type: z.enum(Object.keys(REPLAYED_AS) as [ReplayedType, ...ReplayedType[]]),
    event: z.enum(Object.values(REPLAYED_AS) as [string, ...string[]]),
    conversation_id: int,
    data: z.record(z.string(), z.unknown()).describe('The pushed event’s payload'),
    created_at: iso,
  })
  .meta({ id: 'StreamEvent' });
export const eventPageSchema = z
  .object({
    events: z.array(streamEventSchema),
    next_cursor: z.string().describe('Pass back as `since`: everything up to it has been returned'),
    has_more: z.boolean(),
  })
  .meta({ id: 'EventPage' });
export const joinedConversationSchema = z
  .object({
    conversation: conversationViewSchema,
    messages: z.array(messageViewSchema),
    has_more: z.boolean(),
    next_cursor: z
      .string()
      .optional()
      .describe(
        'With `since`: where the replay stopped (pass it as the next `since` while `has_more`); every kind after `since` was pushed before this answer',
      ),
  })
  .meta({ id: 'JoinedConversation' });

export const membershipSchema = z.object({ conversation_id: int, user_id: int });
export const readReceiptResultSchema = z.object({ conversation_id: int, message_id: int, read_at: iso });
export const deletedSchema = z.object({ id: int });
export const typingResultSchema = z.object({ conversation_id: int, is_typing: z.boolean() });

export const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }) }).meta({ id: 'Error' });

export const healthSchema = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });

export const readinessSchema = z
  .object({
    status: z.enum(['ready', 'unavailable']),
    database: z.enum(['up', 'down', 'refusing-writes']).describe('`refusing-writes`: reachable, but read-only or out of space'),
    transport: z.object({ name: z.string().optional(), build: z.string().optional() }).describe('What serves HTTP and WebSockets: uws or node, and its build'),
    node: z.string().describe('This process’s id in the fan-out'),
    write_lanes: int,
    fanout: z
      .object({
        broker: z.object({
          broker: z.string().describe('`postgres`, `nats`, `redis` or `local`'),
          state: z.enum(['connecting', 'up', 'down', 'closed']),
          since: iso,
          outages: int,
          url: z.string().optional().describe('Where it connects, credentials removed'),
        }),
        sequence: z.enum(['lane', 'conversation']).describe('Messages are ordered per write lane (PostgreSQL, local) or per conversation (NATS, Redis)'),
        state: z.enum(['starting', 'live', 'catching-up', 'down', 'closed']).describe('`live`: connected and caught up; readiness needs it'),
        since: iso,
        outages: int,
        following: z.object({ conversations: int, users: int }).optional().describe('NATS and Redis: what this process is subscribed for'),
        rejected: int.describe('Notifications dropped as malformed or foreign'),
        gapsFilled: int.describe('Batches read from the database because their publish was late or lost'),
      })
      .describe('The fan-out across processes: its broker and whether this process is caught up'),
    metrics_port: z
      .object({ state: z.enum(['serving', 'unavailable']), host: z.string(), port: int, reason: z.string().optional() })
      .optional()
      .describe('The metrics port of a single process (absent when off or served by a supervisor); never affects readiness'),
    error: errorSchema.shape.error.optional().describe('When unavailable'),
  })
  .meta({ id: 'Readiness' });

/** One emoji's count on a message; `me` (in reads for a caller) whether the caller gave it. */
export const reactionCountSchema = z.object({ emoji: z.string(), count: int, me: z.boolean().optional() }).meta({ id: 'ReactionCount' });

export const reactionUpdatedSchema = z
  .object({
    conversation_id: int,
    message_id: int,
    user_id: int.describe('Who added or removed a reaction'),
    emoji: z.string(),
    added: z.boolean(),
    reactions: z.array(reactionCountSchema).describe('Every emoji on the message after the change, first given first'),
    updated_at: iso,
  })
  .meta({ id: 'ReactionUpdated' });

/** Every event pushed to connections, with its payload. The one list: the port's types and the codecs derive from it. */
export const pushEventSchemas = {
  receiveMessage: messageViewSchema,
  messageUpdated: messageViewSchema,
  messageDeleted: z.object({ id: int, conversation_id: int, deleted_at: iso }),
  readReceipt: z.object({ conversation_id: int, user_id: int, message_id: int, read_at: iso }),
  participantAdded: z.object({ conversation_id: int, user: userSummarySchema, added_by: int }),
  participantRemoved: z.object({ conversation_id: int, user_id: int, removed_by: int }),
  presence: z.object({ user_id: int, online: z.boolean(), last_seen_at: isoOrNull }),
  typing: z.object({ conversation_id: int, user_id: int, is_typing: z.boolean() }),
  reactionUpdated: reactionUpdatedSchema,
  conversationUpdated: z
    .object({ conversation_id: int, title: z.string().nullable(), deleted: z.boolean(), updated_by: int, updated_at: iso })
    .meta({ id: 'ConversationUpdated' }),
  profileUpdated: publicProfileSchema.omit({ online: true, last_seen_at: true }),
} as const;

export type MessageView = z.infer<typeof messageViewSchema>;
export type StreamEventView = z.infer<typeof streamEventSchema>;
export type EventPageView = z.infer<typeof eventPageSchema>;
export type ParticipantView = z.infer<typeof participantSchema>;
export type ConversationView = z.infer<typeof conversationViewSchema>;
export type ConversationSummaryView = z.infer<typeof conversationSummarySchema>;
export type UserView = z.infer<typeof userViewSchema>;
export type PublicProfileView = z.infer<typeof publicProfileSchema>;
