import type { ErrorCode } from './types.js';

/** Every failure the client reports: a server error code, or one of the client's own. */
export class ChatError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** The HTTP status, for REST calls. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ChatError';
  }
}
