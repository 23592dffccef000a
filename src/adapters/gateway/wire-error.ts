import type { z } from 'zod';
import type { ErrorCode } from '../../domain/result.js';
import { OverloadedError, UnavailableError } from '../../application/errors.js';

/** Codes the transports add to the domain's own. */
export type TransportCode =
  | 'INVALID_JSON'
  | 'INVALID_FRAME'
  | 'UNKNOWN_EVENT'
  | 'PAYLOAD_TOO_LARGE'
  | 'MALFORMED_REQUEST'
  | 'REQUEST_TIMEOUT'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'HEADERS_TOO_LARGE'
  | 'ORIGIN_NOT_ALLOWED'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'RANGE_NOT_SATISFIABLE'
  | 'TOO_MANY_CONNECTIONS'
  | 'OVERLOADED'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL';

export interface WireError {
  readonly code: ErrorCode | TransportCode;
  readonly message: string;
  readonly details?: unknown;
}

/** What events and requests get once shutdown has begun (the work already running still finishes). */
export const SHUTTING_DOWN: WireError = { code: 'SERVICE_UNAVAILABLE', message: 'The server is shutting down; reconnect', details: { retry_after_seconds: 1 } };

/** The one place codes become HTTP statuses. */
export const HTTP_STATUS: Record<WireError['code'], number> = {
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  INVALID_FRAME: 400,
  UNKNOWN_EVENT: 400,
  MALFORMED_REQUEST: 400,
  CANNOT_BLOCK_SELF: 400,
  QUERY_TOO_SHORT: 400,
  NOT_A_GROUP: 400,
  RESET_TOKEN_INVALID: 400,
  INVALID_CREDENTIALS: 401,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_A_PARTICIPANT: 403,
  NOT_MESSAGE_SENDER: 403,
  CONVERSATION_CLOSED: 403,
  ORIGIN_NOT_ALLOWED: 403,
  USER_BLOCKED: 403,
  NOT_FOUND: 404,
  USER_NOT_FOUND: 404,
  CONVERSATION_NOT_FOUND: 404,
  MESSAGE_NOT_FOUND: 404,
  SESSION_NOT_FOUND: 404,
  WEBHOOK_NOT_FOUND: 404,
  SUBSCRIPTION_NOT_FOUND: 404,
  NOT_BLOCKED: 404,
  REPORT_NOT_FOUND: 404,
  UPLOAD_NOT_FOUND: 404,
  FILE_LINK_INVALID: 403,
  FILE_LINK_EXPIRED: 403,
  UPLOAD_ALREADY_ATTACHED: 409,
  UPLOAD_INCOMPLETE: 409,
  UPLOAD_TOO_LARGE: 413,
  IMAGE_TOO_LARGE: 413,
  UPLOAD_QUOTA_EXCEEDED: 413,
  UPLOAD_SIZE_MISMATCH: 400,
  UPLOAD_TYPE_MISMATCH: 415,
  UPLOAD_TYPE_NOT_ALLOWED: 415,
  IMAGE_UNREADABLE: 415,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  EMAIL_TAKEN: 409,
  USERNAME_TAKEN: 409,
  WEBHOOK_LIMIT_REACHED: 409,
  REACTION_LIMIT_REACHED: 409,
  ALREADY_BLOCKED: 409,
  ALREADY_REPORTED: 409,
  CONTENT_TOO_LONG: 413,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  TOO_MANY_CONNECTIONS: 429,
  RANGE_NOT_SATISFIABLE: 416,
  HEADERS_TOO_LARGE: 431,
  INTERNAL: 500,
  OVERLOADED: 503,
  SERVICE_UNAVAILABLE: 503,
};

export const fromZod = (error: z.ZodError): WireError => ({
  code: 'VALIDATION_FAILED',
  message: error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; '),
  details: error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
});

/** Unexpected failures: a stable code and a message that never carries internals. */
export function fromThrown(error: unknown): WireError {
  if (error instanceof OverloadedError) return { code: 'OVERLOADED', message: 'The server is overloaded; retry shortly' };
  if (error instanceof UnavailableError) return { code: 'SERVICE_UNAVAILABLE', message: 'The database is unavailable; retry shortly' };
  return { code: 'INTERNAL', message: 'Internal server error' };
}
