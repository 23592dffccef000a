import type { HttpRequest, HttpResponse } from './uws.js';
import { HTTP_STATUS, STATUS_TEXT, type WireError } from '../protocol/wire-error.js';

export interface HttpReply {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Array<[string, string]>;
}

export const errorReply = (error: WireError, headers?: Array<[string, string]>): HttpReply => ({
  status: HTTP_STATUS[error.code],
  body: { error },
  ...(headers ? { headers } : {}),
});

export class BodyTooLargeError extends Error {}

/** What a handler may read: copied out of uWS's stack-allocated request before any await. */
export interface HttpExchange {
  readonly method: string;
  readonly url: string;
  readonly query: URLSearchParams;
  readonly params: Array<string | null>;
  readonly authorization: string;
  readonly origin: string;
  readonly contentType: string;
  /** Resolves to the raw body (empty for none); rejects with BodyTooLargeError past the limit. */
  readonly body: Promise<Buffer>;
}

/**
 * Copies the request, starts reading the body, and watches for abort, all
 * synchronously as uWS requires; `reply` may then be called after any await.
 */
export function openExchange(
  res: HttpResponse,
  req: HttpRequest,
  paramCount: number,
  maxBodyBytes: number,
): { exchange: HttpExchange; reply: (r: HttpReply) => void } {
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  const method = req.getMethod();
  // A malformed escape (`%`, `%E0%A4%A`) must not throw here, outside any handler: it becomes
  // a parameter no schema accepts, so the route answers VALIDATION_FAILED.
  const params = Array.from({ length: paramCount }, (_, i) => safeDecode(req.getParameter(i) ?? ''));
  const declaredLength = Number(req.getHeader('content-length') || 0);
  const exchange = {
    method,
    url: req.getUrl(),
    query: new URLSearchParams(req.getQuery() ?? ''),
    params,
    authorization: req.getHeader('authorization'),
    origin: req.getHeader('origin'),
    contentType: req.getHeader('content-type'),
    body: readBody(res, req.getHeader('transfer-encoding').includes('chunked'), declaredLength, maxBodyBytes),
  };
  exchange.body.catch(() => undefined); // a handler that never reads the body must not leave a rejection unhandled
  const reply = (r: HttpReply) => {
    if (aborted) return;
    aborted = true;
    res.cork(() => {
      res.writeStatus(`${r.status} ${STATUS_TEXT[r.status] ?? ''}`);
      for (const [k, v] of r.headers ?? []) res.writeHeader(k, v);
      if (r.body === undefined || r.status === 204) {
        res.end();
      } else {
        res.writeHeader('Content-Type', 'application/json; charset=utf-8');
        res.end(JSON.stringify(r.body));
      }
    });
  };
  return { exchange, reply };
}

function readBody(res: HttpResponse, chunked: boolean, declared: number, max: number): Promise<Buffer> {
  if (!declared && !chunked) return Promise.resolve(Buffer.alloc(0));
  if (declared > max) return Promise.reject(new BodyTooLargeError());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    res.onData((chunk, isLast) => {
      if (failed) return;
      size += chunk.byteLength;
      if (size > max) {
        failed = true;
        reject(new BodyTooLargeError());
        return;
      }
      chunks.push(Buffer.from(new Uint8Array(chunk).slice())); // uWS neuters the chunk on return
      if (isLast) resolve(Buffer.concat(chunks));
    });
  });
}

/** decodeURIComponent, or null for a malformed escape sequence. */
export function safeDecode(value: string): string | null {
  try {
    return decodeURIComponent(value);
  } catch {
    return null;
  }
}
