/**
 * Expected failures travel as values with a stable code; the transports map
 * each code to an error frame or an HTTP status in one place.
 */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'CONTENT_TOO_LONG'
  | 'INVALID_CREDENTIALS'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_A_PARTICIPANT'
  | 'NOT_MESSAGE_SENDER'
  | 'CONVERSATION_CLOSED'
  | 'NOT_A_GROUP'
  | 'USER_NOT_FOUND'
  | 'CONVERSATION_NOT_FOUND'
  | 'MESSAGE_NOT_FOUND'
  | 'SESSION_NOT_FOUND'
  | 'WEBHOOK_NOT_FOUND'
  | 'WEBHOOK_LIMIT_REACHED'
  | 'SUBSCRIPTION_NOT_FOUND'
  | 'EMAIL_TAKEN'
  | 'USERNAME_TAKEN'
  /** A password reset token that is malformed, unknown, expired or already used: one code for all. */
  | 'RESET_TOKEN_INVALID'
  /** A message already carries the most distinct reactions it may. */
  | 'REACTION_LIMIT_REACHED'
  /** One of the two people of a direct conversation blocks the other. */
  | 'USER_BLOCKED'
  | 'CANNOT_BLOCK_SELF'
  | 'ALREADY_BLOCKED'
  | 'NOT_BLOCKED'
  | 'ALREADY_REPORTED'
  | 'REPORT_NOT_FOUND'
  | 'QUERY_TOO_SHORT'
  | 'UPLOAD_NOT_FOUND'
  | 'UPLOAD_TOO_LARGE'
  | 'UPLOAD_SIZE_MISMATCH'
  | 'UPLOAD_TYPE_MISMATCH'
  | 'UPLOAD_TYPE_NOT_ALLOWED'
  | 'UPLOAD_QUOTA_EXCEEDED'
  | 'UPLOAD_INCOMPLETE'
  | 'UPLOAD_ALREADY_ATTACHED'
  | 'IMAGE_TOO_LARGE'
  | 'IMAGE_UNREADABLE'
  | 'FILE_LINK_INVALID'
  | 'FILE_LINK_EXPIRED'
  /** A limit was reached; `details.retry_after_seconds` says when to try again. */
  | 'RATE_LIMITED';

export interface Failure {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details?: unknown;
}

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: Failure };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });

export const fail = <T = never>(code: ErrorCode, message: string, details?: unknown): Result<T> => ({
  ok: false,
  error: details === undefined ? { code, message } : { code, message, details },
});
