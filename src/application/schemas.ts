import { z } from 'zod';
import { MESSAGE_TYPES, isHttpUrl } from '../domain/message.js';
import { ROLES } from '../domain/user.js';

/** Ids arrive as numbers or (from older clients) numeric strings. */
export const id = z
  .union([z.number(), z.string().regex(/^\d{1,15}$/, 'must be a positive integer').transform(Number)])
  .pipe(z.number().int().positive().max(Number.MAX_SAFE_INTEGER));

/** A hard ceiling against abuse; the configured content limit is a domain rule checked later. */
const content = z.string().max(1_000_000);

export const attachmentSchema = z.strictObject({
  url: z.string().max(2048).refine(isHttpUrl, 'must be an http(s) URL'),
  name: z.string().max(255).optional(),
  mime_type: z.string().max(255).optional(),
  size: z.number().int().nonnegative().optional(),
});

export const sendMessageSchema = z.object({
  conversation_id: id,
  content: content.optional().default(''),
  type: z.enum(MESSAGE_TYPES).optional().default('text'),
  client_id: z.string().min(1).max(64).optional().nullable(),
  attachment: attachmentSchema.optional().nullable(),
});

export const joinConversationSchema = z.object({
  conversation_id: id,
  since: z.union([z.literal(0), id]).optional().nullable(),
});

export const conversationRefSchema = z.object({ conversation_id: id });
export const typingSchema = z.object({ conversation_id: id, is_typing: z.boolean().optional().default(true) });
export const editMessageSchema = z.object({ message_id: id, content });
export const messageRefSchema = z.object({ message_id: id });
export const markReadSchema = z.object({ conversation_id: id, message_id: id });

export const registerSchema = z.object({
  email: z.email().max(254),
  username: z
    .string()
    .min(3)
    .max(150)
    .regex(/^[\w.@+-]+$/, 'letters, digits and @/./+/-/_ only'),
  password: z.string().min(8).max(256),
  role: z.enum(ROLES),
  phone_number: z.string().max(32).optional().nullable(),
  profile_picture: z.string().max(2048).refine(isHttpUrl, 'must be an http(s) URL').optional().nullable(),
});

export const logInSchema = z
  .object({
    email: z.string().max(254).optional(),
    username: z.string().max(150).optional(),
    password: z.string().min(1).max(256),
  })
  .refine((v) => v.email !== undefined || v.username !== undefined, 'email or username is required');

export const createConversationSchema = z.object({
  participant_ids: z.array(id).min(1).max(1000),
  title: z.string().trim().min(1).max(255).optional().nullable(),
  is_open: z.boolean().optional().default(false),
});

export const addParticipantSchema = z.object({ user_id: id });

export const pageQuerySchema = z.object({
  before: id.optional(),
  after: z.union([z.literal(0), id]).optional(),
  limit: z.coerce.number().int().min(1).max(100).optional().default(50),
});

export type SendMessageInput = z.infer<typeof sendMessageSchema>;
export type JoinConversationInput = z.infer<typeof joinConversationSchema>;
export type EditMessageInput = z.infer<typeof editMessageSchema>;
export type MarkReadInput = z.infer<typeof markReadSchema>;
export type TypingInput = z.infer<typeof typingSchema>;
export type RegisterInput = z.infer<typeof registerSchema>;
export type LogInInput = z.infer<typeof logInSchema>;
export type CreateConversationInput = z.infer<typeof createConversationSchema>;
export type PageQueryInput = z.infer<typeof pageQuerySchema>;
