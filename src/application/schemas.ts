import { z } from 'zod';
import { MAX_URL_LENGTH, MESSAGE_TYPES, isHttpUrl } from '../domain/message.js';
import { SESSION_ID_PATTERN } from '../domain/session.js';
import { UPLOAD_ID_PATTERN } from '../domain/upload.js';
import { ROLES } from '../domain/user.js';

/** The largest value of the database's integer columns (users, conversations). */
export const MAX_INT_ID = 2_147_483_647;

/** Ids arrive as numbers or (from older clients) numeric strings; `max` is the column's range. */
const idUpTo = (max: number, min = 1) =>
  z
    .union([
      z.number(),
      z
        .string()
        .regex(/^\d{1,16}$/, 'must be a positive integer')
        .transform(Number),
    ])
    .pipe(
      z
        .number()
        .int('must be an integer')
        .min(min, min === 0 ? 'must be 0 or more' : 'must be a positive integer')
        .max(max, `must be at most ${max}`),
    );

/** A user or conversation id (an integer column). */
export const id = idUpTo(MAX_INT_ID);
/** A message id (a bigint column, within what JavaScript counts exactly). */
export const messageId = idUpTo(Number.MAX_SAFE_INTEGER);
/** A message cursor: a message id, or 0 for "from the beginning". */
export const cursor = idUpTo(Number.MAX_SAFE_INTEGER, 0);

/**
 * Text that PostgreSQL stores as sent: no NUL characters (they would fail the whole write) and no
 * lone UTF-16 surrogates (JSON allows `"\ud800"`; UTF-8 cannot carry it, so it would be stored as
 * U+FFFD, or fail a jsonb column). With the `u` flag a surrogate pair is one code point outside the
 * class, so emoji pass.
 */
// eslint-disable-next-line no-control-regex -- NUL is what it refuses
const STORABLE = /^[^\u0000\uD800-\uDFFF]*$/u;
export const text = (max: number) => z.string().max(max).regex(STORABLE, 'must not contain NUL characters or lone surrogates');

/** A hard ceiling against abuse; the configured content limit is a domain rule checked later. */
const content = text(1_000_000);

/** A file hosted elsewhere, by URL (the original clients' form). */
export const urlAttachmentSchema = z.strictObject({
  url: text(MAX_URL_LENGTH).refine(isHttpUrl, 'must be an http(s) URL'),
  name: text(255).optional(),
  mime_type: text(255).optional(),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
});

/** A file uploaded here (POST /uploads): the server fills in the rest. */
export const uploadAttachmentSchema = z.strictObject({
  upload_id: z.string().regex(UPLOAD_ID_PATTERN, 'must be an upload id'),
});

export const attachmentSchema = z.union([uploadAttachmentSchema, urlAttachmentSchema]);

export const sendMessageSchema = z.object({
  conversation_id: id,
  content: content.optional().default(''),
  type: z.enum(MESSAGE_TYPES).optional().default('text'),
  client_id: text(64).min(1).optional().nullable(),
  attachment: attachmentSchema.optional().nullable(),
});

export const joinConversationSchema = z.object({
  conversation_id: id,
  since: cursor.optional().nullable(),
});

export const conversationRefSchema = z.object({ conversation_id: id });
export const typingSchema = z.object({ conversation_id: id, is_typing: z.boolean().optional().default(true) });
export const editMessageSchema = z.object({ message_id: messageId, content });
export const messageRefSchema = z.object({ message_id: messageId });
export const markReadSchema = z.object({ conversation_id: id, message_id: messageId });

export const registerSchema = z.object({
  email: z.email().max(254),
  username: z
    .string()
    .min(3)
    .max(150)
    .regex(/^[\w.@+-]+$/, 'letters, digits and @/./+/-/_ only'),
  password: text(256).min(8),
  role: z.enum(ROLES),
  phone_number: text(32).optional().nullable(),
  profile_picture: text(2048).refine(isHttpUrl, 'must be an http(s) URL').optional().nullable(),
});

export const logInSchema = z
  .object({
    email: text(254).optional(),
    username: text(150).optional(),
    password: text(256).min(1),
  })
  .refine((v) => v.email !== undefined || v.username !== undefined, 'email or username is required');

export const refreshSchema = z.object({ refresh_token: text(512).min(1) });
export const changePasswordSchema = z.object({ current_password: text(256).min(1), new_password: text(256).min(8) });
/** `POST /auth/password/forgot`: the address to send a reset link to. */
export const forgotPasswordSchema = z.object({ email: z.email().max(254) });
/** `POST /auth/password/reset`: the mailed token (its shape is checked by the use case, so every bad token gets one answer) and a password under registration's rules. */
export const resetPasswordSchema = z.object({ token: text(512).min(1), password: registerSchema.shape.password });
/** Session ids are UUIDs. */
export const sessionIdSchema = z.string().regex(SESSION_ID_PATTERN, 'must be a session id');

export const createConversationSchema = z.object({
  participant_ids: z.array(id).min(1).max(1000),
  title: text(255).trim().min(1).optional().nullable(),
  is_open: z.boolean().optional().default(false),
});

export const addParticipantSchema = z.object({ user_id: id });

/** A page size from a query string: 1 to 100, 50 when absent. */
const pageLimit = z
  .string()
  .regex(/^\d{1,3}$/, 'must be a number from 1 to 100')
  .transform(Number)
  .pipe(z.number().int().min(1).max(100))
  .optional()
  .default(50);

/** Query strings arrive as text: numbers are parsed, `0` is a cursor from the beginning. */
export const pageQuerySchema = z.object({
  before: messageId.optional(),
  after: cursor.optional(),
  limit: pageLimit,
});

/** `GET /sync` and `GET /conversations/:id/events`: at most `limit` events after the `since` cursor (0 or absent: from the beginning). */
export const eventsQuerySchema = z.object({
  since: cursor.optional(),
  limit: pageLimit,
});

/** `GET /conversations`: a page of at most `limit`, after `cursor`. */
export const listQuerySchema = z.object({
  limit: pageLimit,
  archived: z.enum(['true', 'false']).optional().describe('true: only the conversations the caller archived'),
  cursor: z
    .string()
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/, 'must be a cursor this server gave out')
    .optional(),
});

export type ChangePasswordInput = z.infer<typeof changePasswordSchema>;
export type ListQueryInput = z.infer<typeof listQuerySchema>;
export type SendMessageInput = z.infer<typeof sendMessageSchema>;
export type JoinConversationInput = z.infer<typeof joinConversationSchema>;
export type EditMessageInput = z.infer<typeof editMessageSchema>;
export type MarkReadInput = z.infer<typeof markReadSchema>;
export type TypingInput = z.infer<typeof typingSchema>;
export type RegisterInput = z.infer<typeof registerSchema>;
export type LogInInput = z.infer<typeof logInSchema>;
export type CreateConversationInput = z.infer<typeof createConversationSchema>;
export type PageQueryInput = z.infer<typeof pageQuerySchema>;
export type EventsQueryInput = z.infer<typeof eventsQuerySchema>;
export type ForgotPasswordInput = z.infer<typeof forgotPasswordSchema>;
export type ResetPasswordInput = z.infer<typeof resetPasswordSchema>;

/** The longest search query; a longer one is refused (VALIDATION_FAILED) before it reaches the database. */
export const SEARCH_QUERY_MAX = 200;
/** The fewest non-space characters a search query needs (QUERY_TOO_SHORT). */
export const SEARCH_QUERY_MIN = 2;

/** `GET /search/messages`: any text (operators and quotes included) up to SEARCH_QUERY_MAX characters. */
export const searchQuerySchema = z.object({
  q: text(SEARCH_QUERY_MAX),
  conversation_id: id.optional(),
  limit: z
    .string()
    .regex(/^\d{1,2}$/, 'must be a number from 1 to 50')
    .transform(Number)
    .pipe(z.number().int().min(1).max(50))
    .optional()
    .default(20),
  cursor: z
    .string()
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/, 'must be a cursor this server gave out')
    .optional(),
});
export type SearchQueryInput = z.infer<typeof searchQuerySchema>;

/** A group's new title, validated as at creation. */
export const renameSchema = z.object({ title: text(255).trim().min(1) });

/** A reaction in a path: checked as one emoji by the use case (VALIDATION_FAILED otherwise). */
export const reactionParam = z.string().min(1).max(64);
