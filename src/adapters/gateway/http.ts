import { HTTP_STATUS, type WireError } from './wire-error.js';

/**
 * An HTTP request as every transport hands it to the gateway: copied out of the
 * server's own request object, so it may be read after any await.
 */
export interface HttpRequest {
  /** Upper-case. */
  readonly method: string;
  /** The path without the query string, as received (not yet percent-decoded). */
  readonly path: string;
  /** The raw query string without `?` (empty for none). */
  readonly query: string;
  /** A request header by lower-case name, or '' when absent. */
  header(name: string): string;
  /** The peer's address as the transport saw it (before any proxy header). */
  readonly remoteAddress: string;
  /** The body; rejects with `BodyTooLargeError` past the transport's limit. Read at most once. */
  body(): Promise<Buffer>;
}

export type HttpHeaders = ReadonlyArray<readonly [string, string]>;

export interface HttpReply {
  readonly status: number;
  readonly headers?: HttpHeaders;
  /** Sent as JSON unless `raw` is given. */
  readonly body?: unknown;
  /** A body sent as is, with its content type. */
  readonly raw?: { readonly contentType: string; readonly data: string | Buffer };
}

/** The client went away before its request body arrived: nothing to answer, nothing wrong here. */
export class ClientGoneError extends Error {
  constructor() {
    super('The client closed the connection before sending the whole body');
    this.name = 'ClientGoneError';
  }
}

export class BodyTooLargeError extends Error {
  constructor() {
    super('The request body is too large');
    this.name = 'BodyTooLargeError';
  }
}

export const STATUS_TEXT: Readonly<Record<number, string>> = {
  101: 'Switching Protocols',
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  206: 'Partial Content',
  302: 'Found',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export const statusLine = (status: number): string => `${status} ${STATUS_TEXT[status] ?? ''}`.trimEnd();

/** The error shape with its status; a refusal that says when to come back also says it in Retry-After. */
export const errorReply = (error: WireError, headers: HttpHeaders = []): HttpReply => {
  const retry = retryAfterOf(error);
  const all = retry === null ? headers : [...headers, ['Retry-After', String(retry)] as const];
  return { status: HTTP_STATUS[error.code], body: { error }, ...(all.length > 0 ? { headers: all } : {}) };
};

export const retryAfterOf = (error: WireError): number | null => {
  const seconds = (error.details as { retry_after_seconds?: unknown } | undefined)?.retry_after_seconds;
  return typeof seconds === 'number' && seconds >= 0 ? Math.ceil(seconds) : null;
};

/** The bytes and content type a reply is written with. */
export function replyPayload(reply: HttpReply): { contentType: string | null; data: string | Buffer } {
  if (reply.raw) return { contentType: reply.raw.contentType, data: reply.raw.data };
  if (reply.body === undefined || reply.status === 204) return { contentType: null, data: '' };
  return { contentType: 'application/json; charset=utf-8', data: JSON.stringify(reply.body) };
}

/** decodeURIComponent, or null for a malformed escape sequence. */
export function safeDecode(value: string): string | null {
  try {
    return decodeURIComponent(value);
  } catch {
    return null;
  }
}

export const bearer = (header: string): string | null => {
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return match ? match[1]! : null;
};
