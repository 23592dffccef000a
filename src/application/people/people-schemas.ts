import { z } from 'zod';
import { isHttpUrl } from '../../domain/message.js';
import { REPORT_STATUSES } from '../ports/people.js';
import { text } from '../schemas.js';

/** Shortest directory query: a prefix this short already narrows the list to what a person would scroll. */
export const MIN_QUERY_LENGTH = 2;
/** Longest report reason, in characters (the column's bound). */
export const MAX_REPORT_REASON = 1000;

// Control and format characters (NUL, bidirectional overrides, zero-width joiners) let a name pose as another.
const PLAIN = /^[^\p{Cc}\p{Cf}\p{Co}\p{Cs}]*$/u;

/** A display name: NFKC-normalised, trimmed, no control or invisible characters. */
export const displayNameSchema = z
  .string()
  .max(100)
  .transform((v) => v.normalize('NFKC').trim())
  .pipe(z.string().min(1).max(100).regex(PLAIN, 'must not contain control or invisible characters'));

export const directoryQuerySchema = z.strictObject({
  query: z.string().max(150).describe(`A prefix of the username or display name, at least ${MIN_QUERY_LENGTH} characters`),
  after: z.coerce.number().int().min(0).max(2_147_483_647).default(0).describe('The previous page’s `next_after`'),
  limit: z.coerce.number().int().min(1).max(50).default(20),
});
export type DirectoryQueryInput = z.infer<typeof directoryQuerySchema>;

export const updateProfileSchema = z
  .strictObject({
    display_name: displayNameSchema.nullable().optional(),
    phone_number: text(32)
      .regex(/^\+?[0-9 ()./-]{3,32}$/, 'digits, spaces and + ( ) . / - only')
      .nullable()
      .optional(),
    picture_url: text(2048).refine(isHttpUrl, 'must be an http(s) URL').nullable().optional(),
  })
  .refine((v) => Object.keys(v).length > 0, 'nothing to change');
export type UpdateProfileInput = z.infer<typeof updateProfileSchema>;

export const reportSchema = z.strictObject({
  reason: text(MAX_REPORT_REASON)
    .transform((v) => v.trim())
    .pipe(z.string().min(1, 'a reason is required')),
});

export const reportQueueSchema = z.strictObject({
  status: z.enum(REPORT_STATUSES).default('open'),
  before: z.coerce.number().int().min(1).max(2_147_483_647).optional().describe('The previous page’s `next_before`'),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
export type ReportQueueInput = z.infer<typeof reportQueueSchema>;

export const auditQuerySchema = z.strictObject({
  before: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional().describe('The previous page’s `next_before`'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export type AuditQueryInput = z.infer<typeof auditQuerySchema>;
